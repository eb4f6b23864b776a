"""The contracts' bounds on one party, against a real dev node process: a member cannot hold a payout
back by objecting again and again (the second objection is refused through `hubao wallet`, with the
reason, before its evidence is uploaded), the operator cannot top members up beyond the year cap,
and an organisations' proposal that expired cannot be carried out however many approved it."""

from __future__ import annotations

import os
import subprocess

import pytest
from eth_utils import keccak

from consortium.client import (
    ContractRefusal,
)
from consortium.wallet.words import explain
from harness.processes import DEV_ADDRESSES, DEV_KEYS, HUBAO, ROOT, DevNode
from tests.support.members import claim_under_notice

PASSWORD = "member password"


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """A dev node with the suite (DEV_KEYS[0] holds every staff role and is the one organisation,
    DEV_KEYS[1] investigates), a wallet member and a claimant past their waiting period, and the
    claimant's claim under public notice."""
    root = tmp_path_factory.mktemp("abuse")
    with DevNode.start(root / "node") as node:
        n = claim_under_notice(node, root, PASSWORD)
        w3, ops, member, claim, deployment, wallet = n.w3, n.ops, n.member, n.claim, n.deployment, n.wallet
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
