"""`hubao simulate --scenario launch` on a network of its own (issue 18): the population joins
along the real plan's growth curve, waiting-period refusals happen, and the per-year figures are
those of the chain's own events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from consortium.client import Deployment, Suite, connect
from consortium.simulation import launch
from consortium.simulation.chain import member_rpc
from tests.simulation.conftest import hubao, sim_network


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    with sim_network(tmp_path_factory.mktemp("launch-net"), users=45) as root:
        yield root


def test_the_launch_follows_the_growth_curve(network, tmp_path):
    """`--scenario launch` on the same network: the population joins along the real plan's growth
    curve from 16 October (in the enroller's batches), illnesses claimed inside the 90-day waiting
    period are refused, and the per-year figures are those of the chain's own events."""
    root = network
    members = 40
    run = hubao("simulate", "--network", str(root), "--out", str(tmp_path), "--json", "--scenario", "launch",
                "--members", str(members), "--months", "4", "--incidence", "3", "--seed", "5",
                "--start", "2031-10-16", "--no-measure-node", timeout=400)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["run"]["driver_failed"] == 0 and report["reconciled"] and report["rules_held"]["held"]
    suite = Suite(connect(member_rpc(root)), Deployment.load(tmp_path / "deployment.json"))
    joined = suite.membership.events("MemberJoined")
    start = suite.deployment.start
    for close in suite.pool.events("PeriodClosed"):  # joined by each close: the curve's count
        day = (suite.w3.eth.get_block(close["blockNumber"])["timestamp"] - start) / 86_400
        so_far = sum(1 for e in joined if e["blockNumber"] <= close["blockNumber"])
        assert abs(so_far - members * launch.share_in_plan(day)) <= 2, (day, so_far)
    enroller = suite.deployment.roles.enroller  # enrolled by the platform: no member transaction
    assert all(suite.w3.eth.get_transaction(e["transactionHash"])["from"] == enroller for e in joined)
    assert sum(r["refused_in_waiting"] for r in report["periods"]) > 0
    accepted = [
        suite.w3.eth.get_block(e["blockNumber"])["timestamp"] for e in suite.claims.events("ClaimAccepted")
    ]
    shares = {}
    for close in suite.pool.events("PeriodClosed"):
        year = datetime.fromtimestamp(suite.w3.eth.get_block(close["blockNumber"])["timestamp"], UTC).year
        shares[year] = shares.get(year, 0) + close["args"]["share"]
    assert [y["year"] for y in report["years"]] == [2031, 2032]
    for y in report["years"]:
        assert y["cost_per_member_rmb"] == shares[y["year"]] / 100
        assert y["aided"] == sum(1 for ts in accepted if datetime.fromtimestamp(ts, UTC).year == y["year"])
    assert report["launch_vs_real"] == []  # no full calendar year yet
