"""A member's way in, for tests that need one on a real node: the suite deployed by an operator,
a fresh member funded, and the operator's attestation and the member's auto-debit mandate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from consortium.client import (
    TIER_UNDER_40,
    Attestation,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
)
from consortium.operator.enrollment import month_start
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
