"""The contracts' bounds on one party, against a real dev node process: a member cannot hold a payout
back by objecting again and again (the second objection is refused through `hubao wallet`, with the
reason, before its evidence is uploaded), the operator cannot top members up beyond the year cap,
and an organisations' proposal that expired cannot be carried out however many approved it."""

from __future__ import annotations

import os
import subprocess

import pytest
from eth_utils import keccak
from web3 import Web3

from consortium.client import (
    DAY,
    TIER_UNDER_40,
    Attestation,
    ContractRefusal,
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
from consortium.wallet.words import explain
from tests.support.processes import DEV_ADDRESSES, DEV_KEYS, HUBAO, ROOT, DevNode

PASSWORD = "member password"


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """A dev node with the suite (DEV_KEYS[0] holds every staff role and is the one organisation,
    DEV_KEYS[1] investigates), a wallet member and a claimant past their waiting period, and the
    claimant's claim under public notice."""
    root = tmp_path_factory.mktemp("abuse")
    with DevNode.start(root / "node") as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        deployment = root / "deployment.json"
        params = Params(roles=Roles(investigator=DEV_ADDRESSES[1]))
        ops = Suite(w3, deploy_suite(w3, DEV_KEYS[0], params, out=deployment), DEV_KEYS[0])
        publish_reader(deployment, public_key_of(bytes.fromhex(DEV_KEYS[1][2:])))
        wallet = root / "wallet"
        member = Keystore(wallet).create(PASSWORD, light=True).address
        ops.tx.transfer_eth(member, 10**18)
        for key in (Keystore(wallet).unlock(None, PASSWORD)[1], DEV_KEYS[3]):
            me, now = ops.as_(key), ops.now()
            a = Attestation(me.address, identity_commitment(f"id of {me.address}"), TIER_UNDER_40,
                            month_start(now + 20 * 365 * DAY), now + DAY)  # fmt: skip
            me.membership.join(a, sign_attestation(DEV_KEYS[0], a, ops.tx.chain_id, ops.membership.address))
        node.rpc("evm_increaseTime", 91 * DAY)
        node.rpc("evm_mine")
        claim = ops.as_(DEV_KEYS[3]).claims.submit(5, False, os.urandom(32))
        ops.as_(DEV_KEYS[1]).claims.approve(claim, os.urandom(32))
        (root / "password").write_text(PASSWORD + "\n")
        (root / "objection.txt").write_text("I saw the claimant at work yesterday")
        yield {"root": root, "node": node, "w3": w3, "ops": ops, "member": member, "claim": claim,
               "deployment": deployment, "wallet": wallet}  # fmt: skip


def object_by_wallet(plan) -> subprocess.CompletedProcess:
    root = plan["root"]
    args = ["wallet", "--wallet-dir", str(plan["wallet"]), "notice", "object", str(plan["claim"]),
            "--evidence", str(root / "objection.txt"), "--password-file", str(root / "password")]  # fmt: skip
    env = {**os.environ, "HUBAO_RPC": plan["node"].url, "HUBAO_DEPLOYMENT": str(plan["deployment"])}
    return subprocess.run([*HUBAO, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def stored(plan) -> list[str]:
    return sorted(str(p) for p in (plan["root"] / "node" / "evidence").rglob("*") if p.is_file())


def test_a_member_objecting_twice_is_refused_with_the_reason_and_nothing_uploaded(plan):
    ops, member, claim = plan["ops"], plan["member"], plan["claim"]
    first = object_by_wallet(plan)
    assert first.returncode == 0, first.stderr
    assert ops.claims.status(claim) == "UnderReview" and ops.claims.has_objected(claim, member)
    ops.as_(DEV_KEYS[1]).claims.approve(claim, os.urandom(32))  # reviewed again: a new notice
    nonce, evidence = plan["w3"].eth.get_transaction_count(member), stored(plan)
    second = object_by_wallet(plan)
    assert second.returncode == 1 and second.stdout == ""
    assert second.stderr.strip() == (
        f"error: you already objected to claim #{claim}: each member may object once per claim"
    )
    assert ops.claims.status(claim) == "InNotice"  # the notice runs on: the payout is not held back
    assert plan["w3"].eth.get_transaction_count(member) == nonce and stored(plan) == evidence


def test_the_operator_cannot_top_members_up_beyond_the_year_cap(plan):
    ops = plan["ops"]
    cap = ops.deployment.rules.year_cap
    nonce = ops.tx.w3.eth.get_transaction_count(ops.address)
    with pytest.raises(ContractRefusal) as refused:
        ops.pool.collect([plan["member"]], cap + 1)
    assert refused.value.name == "AheadOverYearCap" and refused.value.args_ == (cap + 1, cap)
    assert explain(refused.value) == (
        "members may be topped up at most RMB 188.00 ahead (the plan's year cap), not RMB 188.01"
    )
    assert ops.tx.w3.eth.get_transaction_count(ops.address) == nonce  # refused at the estimate
    ops.pool.collect([plan["member"]], cap)  # the cap itself is allowed


def test_an_expired_proposal_cannot_be_executed(plan):
    ops, node = plan["ops"], plan["node"]
    role = keccak(text="TREASURER_ROLE")
    grant = ops.token.contract.encode_abi("grantRole", [role, DEV_ADDRESSES[2]])
    pid = ops.governor.propose(ops.token.address, grant, "a second treasurer")  # approved by its proposer
    expires = ops.governor.proposal(pid).expiresAt
    assert expires == ops.now() + ops.governor.proposal_lifetime()
    node.rpc("evm_setNextBlockTimestamp", expires)  # the first moment it is expired
    node.rpc("evm_mine")
    with pytest.raises(ContractRefusal) as refused:
        ops.governor.execute(pid)
    assert refused.value.name == "ProposalExpired" and refused.value.args_ == (pid, expires)
    assert explain(refused.value).startswith(f"proposal #{pid} expired on ")
    assert not ops.token.has_role("TREASURER_ROLE", DEV_ADDRESSES[2])
