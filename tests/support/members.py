"""A member's way in, for tests that need one on a real node: the suite deployed by an operator,
a fresh member funded, and the operator's attestation and the member's auto-debit mandate; and a
plan with a wallet member and a claim under public notice (`claim_under_notice`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from consortium.client import (
    DAY,
    TIER_UNDER_40,
    Attestation,
    Params,
    Roles,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
)
from consortium.evidence.envelope import public_key_of
from consortium.evidence.readers import publish_reader
from consortium.operator.enrollment import month_start
from consortium.wallet.keystore import Keystore
from node.genesis import dev_accounts


@dataclass
class Applicant:
    operator: Suite
    me: Suite  # the suite as the member signs with it
    address: str
    attestation: Attestation
    signature: bytes
    mandate: int  # fen the member lets the pool auto-debit


def applicant(w3: Web3, deployment_path: Path) -> Applicant:
    """Everything `membership.join(attestation, signature, mandate)` needs, not yet sent."""
    operator_key = dev_accounts(9)[8][1]
    operator = Suite(w3, deploy_suite(w3, operator_key, out=deployment_path), operator_key)
    member = Account.create()
    operator.tx.transfer_eth(member.address, 10**18)
    now = operator.now()
    attestation = Attestation(member.address, identity_commitment("110101199001011234"), TIER_UNDER_40,
                              month_start(now + 20 * 365 * 86400), now + 86400)  # fmt: skip
    signature = sign_attestation(operator_key, attestation, operator.tx.chain_id, operator.membership.address)
    me = operator.as_(member.key)
    return Applicant(operator, me, member.address, attestation, signature, me.deployment.rules.year_cap)


@dataclass
class Notice:
    w3: Web3
    ops: Suite  # DEV_KEYS[0]: every staff role, the one organisation
    deployment: Path
    wallet: Path  # a wallet folder whose one key (password `password`) is an active member
    member: str
    claim: int  # DEV_KEYS[3]'s claim, approved by the investigator (DEV_KEYS[1]): under notice


def claim_under_notice(node, root: Path, password: str) -> Notice:
    """On a dev node process: the suite with DEV_KEYS[1] as investigator (its reader key published),
    a wallet member and DEV_KEYS[3] joined and past the waiting period, and DEV_KEYS[3]'s claim
    under public notice."""
    from harness.processes import DEV_ADDRESSES, DEV_KEYS

    w3 = Web3(Web3.HTTPProvider(node.url))
    deployment = root / "deployment.json"
    params = Params(roles=Roles(investigator=DEV_ADDRESSES[1]))
    ops = Suite(w3, deploy_suite(w3, DEV_KEYS[0], params, out=deployment), DEV_KEYS[0])
    publish_reader(deployment, public_key_of(bytes.fromhex(DEV_KEYS[1][2:])))
    wallet = root / "wallet"
    member = Keystore(wallet).create(password, light=True).address
    ops.tx.transfer_eth(member, 10**18)
    for key in (Keystore(wallet).unlock(None, password)[1], DEV_KEYS[3]):
        me, now = ops.as_(key), ops.now()
        a = Attestation(me.address, identity_commitment(f"id of {me.address}"), TIER_UNDER_40,
                        month_start(now + 20 * 365 * DAY), now + DAY)  # fmt: skip
        me.membership.join(a, sign_attestation(DEV_KEYS[0], a, ops.tx.chain_id, ops.membership.address))
    node.rpc("evm_increaseTime", 91 * DAY)
    node.rpc("evm_mine")
    claim = ops.as_(DEV_KEYS[3]).claims.submit(5, False, os.urandom(32))
    ops.as_(DEV_KEYS[1]).claims.approve(claim, os.urandom(32))
    return Notice(w3, ops, deployment, wallet, member, claim)
