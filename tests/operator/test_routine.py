"""The operator's routine against a dev node process: ending the cover of members who turned 60
(`hubao operator age-out`, as a real process), and `enroll_many` refusing, in one batch, a person
already in the plan and an account that already has a membership."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from web3 import Web3

from consortium.client import DAY, Suite, deploy_suite
from consortium.operator.enrollment import Applicant, Ineligible, Registry, age_out, enroll_many
from consortium.wallet.attestation import attestation_from_json
from harness.processes import HUBAO, ROOT, DevNode
from node.genesis import dev_accounts

DEV_ADDRESSES, DEV_KEYS = (list(column) for column in zip(*dev_accounts(9), strict=True))


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """A suite on a dev node; the operator key holds every staff role; two members have joined:
    one whose 60th birthday is ten days away and one born in 1990."""
    root = tmp_path_factory.mktemp("routine")
    node = DevNode.start(root / "data")
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        staff = Suite(w3, deploy_suite(w3, DEV_KEYS[0], out=root / "deployment.json"), DEV_KEYS[0])
        today = datetime.fromtimestamp(staff.now(), UTC).date()
        turning_60 = today.replace(year=today.year - 60) + timedelta(days=10)
        registry = Registry(root / "registry.json")
        people = [(DEV_KEYS[3], "ID-OLD", turning_60), (DEV_KEYS[4], "ID-YOUNG", date(1990, 1, 1))]
        applicants = [Applicant(Suite(w3, staff.deployment, k).address, i, b, True) for k, i, b in people]
        for (key, _, _), outcome in zip(people, enroll_many(staff, registry, applicants), strict=True):
            Suite(w3, staff.deployment, key).membership.join(*attestation_from_json(outcome))
        yield node, staff, registry, root
    finally:
        node.stop()


def hubao_age_out(node: DevNode, root) -> dict:
    done = subprocess.run(
        [*HUBAO, "operator", "--json", "age-out", "--rpc", node.url, "--deployment",
         str(root / "deployment.json"), "--key-file", str(root / "operator.key")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_age_out_ends_only_the_covers_that_ended(plan):
    node, staff, _, root = plan
    (root / "operator.key").write_text("0x" + bytes(DEV_KEYS[0]).hex())
    old, young = DEV_ADDRESSES[3], DEV_ADDRESSES[4]
    assert age_out(staff)["aged_out"] == []  # nobody is 60 yet
    ends = staff.membership.call("coverEndsAt", old)  # the end of the month they turn 60
    node.rpc("evm_increaseTime", ends - staff.now() + DAY)
    node.rpc("evm_mine")
    assert staff.membership.state_of(old) == "CoverExpired"
    assert hubao_age_out(node, root) == {"aged_out": [old], "failed": []}
    assert staff.membership.state_of(old) == "CoverEnded"
    assert staff.membership.state_of(young) in ("Waiting", "Active")
    assert hubao_age_out(node, root)["aged_out"] == []  # ended once, not again


def test_enroll_many_refuses_who_is_already_in_the_plan(plan):
    _, staff, registry, _ = plan
    applicants = [
        Applicant(DEV_ADDRESSES[5], "ID-YOUNG", date(1990, 1, 1), True),  # the same person, new account
        Applicant(DEV_ADDRESSES[4], "ID-NEW", date(1991, 1, 1), True),  # a member's account, new person
        Applicant(DEV_ADDRESSES[6], "ID-OTHER", date(1992, 1, 1), True),
    ]
    first, second, third = enroll_many(staff, registry, applicants)
    assert isinstance(first, Ineligible) and "already a member" in str(first)
    assert isinstance(second, Ineligible) and "already has a membership" in str(second)
    assert not isinstance(third, Ineligible) and third["attestation"]["member"] == DEV_ADDRESSES[6]
