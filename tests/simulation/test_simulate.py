"""`hubao simulate` on a real network: 4 validators and a member node as OS processes on loopback,
whose clock the simulator moves three simulated days at a time.

What users rely on: the report reconciles to the fen, and the plan's rules held (no payout for an
illness filed in the waiting period, no claimant paying towards their own case, removed members no
longer sharing), all recomputed from chain events. A few figures are checked again here directly
against the chain, and a forged event shows the reconciliation can say no.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from consortium.client import Deployment, Suite, connect
from consortium.evidence.client import EvidenceClient
from consortium.simulation.chain import member_rpc, network_nodes
from consortium.simulation.chainlog import read_chain
from consortium.simulation.ledger import reconcile, rule_checks
from harness.reports import committed
from tests.simulation.conftest import hubao, sim_network

MEMBERS = 30
ARGS = ["--members", str(MEMBERS), "--months", "2", "--incidence", "4", "--fraud-rate", "0.3",
        "--default-rate", "2", "--waiting-days", "30", "--seed", "7"]  # fmt: skip
# two starts four years apart: the same weekdays-of-leap-years, so ages and birthdays fall alike
FIRST_START, SECOND_START = "2031-01-01", "2035-01-01"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim-report")
    with sim_network(tmp_path_factory.mktemp("sim-net"), users=45) as root:
        run = hubao("simulate", "--network", str(root), "--out", str(out), "--json", *ARGS,
                    "--start", FIRST_START, timeout=400)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        yield root, out, json.loads(run.stdout)


def test_same_seed_same_report(simulated, tmp_path):
    """The driver moves the consortium clock a step at a time and never sends what could land on
    either side of a deadline, so the seed alone decides what happens in which period: a second
    run of the same seed on the same network (its own suite, four years later) reports the same.
    Only dates differ, and gas by a little: calldata carries dates and contract addresses."""
    root, _, first = simulated
    run = hubao("simulate", "--network", str(root), "--out", str(tmp_path), "--json", *ARGS,
                "--start", SECOND_START, "--no-measure-node", timeout=400)  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    second = json.loads(run.stdout)
    assert first["periods"][0]["closed_on"] == "2031-01-16"
    assert second["periods"][0]["closed_on"] == "2035-01-16"
    assert first["run"]["step_overruns"] == second["run"]["step_overruns"] == 0

    assert committed(second) == committed(first)
    assert sum(r["claims_submitted"] for r in first["periods"]) > 0


def test_report_reconciles_every_fen(simulated):
    _, out, report = simulated
    rec = report["reconciliation"]
    assert report["reconciled"] is True and rec["reconciled"] is True
    assert all(rec["checks"].values()), rec["checks"]
    assert rec["members_checked"] >= MEMBERS
    assert rec["fen"]["paid_in"] > 0 and rec["fen"]["paid_out"] > 0
    assert json.loads((out / "report.json").read_text())["reconciled"] is True
    csv_lines = (out / "report.csv").read_text().splitlines()
    assert csv_lines[0].startswith("period,closed_on,members_sharing")
    assert len(csv_lines) >= 1 + len(report["periods"]) + 1
    for chart in ("members.png", "share.png", "claims.png"):
        assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rules_held_on_chain_events(simulated):
    _, _, report = simulated
    assert report["run"]["driver_failed"] == 0 and report["run"]["refusals"] == {}, report["run"]
    held = report["rules_held"]
    assert held["held"], held
    assert held["accepted_claims_checked"] > 0  # some claims were paid
    assert held["removals_checked"] > 0  # some members stopped paying and were removed
    periods = report["periods"]
    assert sum(r["refused_in_waiting"] for r in periods) > 0
    assert sum(r["rejected"] for r in periods) > 0


def test_figures_match_the_chain_directly(simulated):
    root, out, report = simulated
    w3 = connect(member_rpc(root))
    suite = Suite(w3, Deployment.load(out / "deployment.json"))
    fen = report["reconciliation"]["fen"]
    assert suite.token.balance_of(suite.pool.address) == fen["pool_balance"]
    assert fen["pool_balance"] == fen["paid_in"] - fen["paid_out"] - fen["fees"] - fen["refunded"]
    # auto-debit tops members up ahead: fewer debits than members times closes, and leavers get
    # their unused credit back
    debits = suite.pool.events("SharePaid", from_block=suite.deployment.block)
    closes = suite.pool.events("PeriodClosed", from_block=suite.deployment.block)
    sharing = sum(e["args"]["sharing"] for e in closes if e["args"]["share"])
    assert 0 < len(debits) < sharing
    refunds = suite.pool.events("CreditRefunded", from_block=suite.deployment.block)
    assert sum(e["args"]["amount"] for e in refunds) == fen["refunded"] > 0
    for e in refunds:
        assert suite.membership.state_of(e["args"]["member"]) not in ("Waiting", "Active")
        assert suite.pool.credit(e["args"]["member"]) == 0
    paid = suite.pool.events("ClaimantPaid", from_block=suite.deployment.block)
    assert sum(e["args"]["amount"] for e in paid) == fen["paid_out"]
    for e in suite.pool.events("DefaulterRemoved", from_block=suite.deployment.block):
        member = e["args"]["member"]  # removed, or their membership had already ended (a payout)
        assert suite.membership.state_of(member) not in ("Waiting", "Active")
        assert suite.pool.owed(member) == 0
    # every claim's evidence is in the consortium's evidence store under its on-chain root
    submitted = suite.claims.events("ClaimSubmitted", from_block=suite.deployment.block)
    assert report["run"]["evidence_bundles_filed"] >= len(submitted) > 0
    store = EvidenceClient(w3)
    for e in submitted:
        assert store.get(e["args"]["evidenceRoot"]), f"no evidence for claim {e['args']['claimId']}"
    # payouts were to members whose claim was filed after their waiting period (or an accident)
    joined = {
        e["args"]["member"]: e["args"]["waitingEndsAt"] for e in suite.membership.events("MemberJoined")
    }
    for e in suite.claims.events("ClaimAccepted", from_block=suite.deployment.block):
        c = suite.claims.claim(e["args"]["claimId"])
        assert c.accident or c.submittedAt >= joined[c.claimant]


def test_one_node_alone_is_this_runs_own_blocks_executed_again(simulated):
    """The sustained/alone ratio's yardstick is the run's own blocks, executed again by one node on
    a copy of the member node's datadir: every kind of block sampled, all of the run's gas counted,
    and the ratio and capacity table computed from it."""
    root, _, report = simulated
    w3 = connect(member_rpc(root))
    chain = read_chain(w3, Deployment.load(report["network"]["deployment"]), report["run"]["last_block"],
                       deployed_by=report["run"]["first_block"])  # fmt: skip
    plan_blocks = {tx.block for tx in chain.txs}
    alone = report["alone"]
    assert alone["blocks"] == len(plan_blocks) > 0
    assert alone["gas"] == sum(chain.blocks[n]["gas"] for n in plan_blocks) == report["totals"]["gas"]
    kinds = alone["kinds"]
    assert {"membership.enrollBatch", "token.mintEach", "pool.collect"} <= set(kinds)
    assert sum(k["blocks"] for k in kinds.values()) == alone["blocks"]
    for k in kinds.values():
        assert min(k["blocks"], 3) <= k["sampled"] <= k["blocks"] and k["gas_per_second"] > 0
    assert alone["gas_per_second"] == pytest.approx(alone["gas"] / alone["seconds"], rel=0.01)
    cap, nodes = report["capacity"], network_nodes(root)
    share = alone["gas_per_second"] * min(os.cpu_count(), nodes) / nodes
    assert cap["sustained_over_alone"] == round(report["totals"]["chain_gas_per_second"] / share, 2)
    assert cap["margin_on_one_core"] > 0 and all("core_share" in row for row in cap["needs"])


def test_a_forged_event_is_caught(simulated):
    root, out, _ = simulated
    w3 = connect(member_rpc(root))
    chain = read_chain(w3, Deployment.load(out / "deployment.json"))
    assert reconcile(w3, chain)["reconciled"] is True
    share = next(e for e in chain.events if e.name == "SharePaid")
    forged = replace(share, args={**share.args, "amount": share.args["amount"] + 1})
    chain.events[chain.events.index(share)] = forged
    chain.by_name["SharePaid"] = [forged if e is share else e for e in chain.by_name["SharePaid"]]
    result = reconcile(w3, chain)
    assert result["reconciled"] is False
    assert result["checks"]["shares paid == transfers into the pool == totals.paidIn"] is False
    assert rule_checks(chain)["held"] is True  # the rules are about who shared, not amounts


def test_simulate_without_a_network_is_one_clear_line(tmp_path):
    result = hubao("simulate", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "give --network DIR" in result.stderr
    assert "Traceback" not in result.stderr


def test_too_few_member_accounts_is_refused_before_deploying(simulated):
    root, _, _ = simulated
    result = hubao("simulate", "--network", str(root), "--members", "500", "--out", str(root / "no-report"))
    assert result.returncode == 1
    assert "hubao net init --users" in result.stderr
    assert not (root / "no-report" / "deployment.json").exists()


def test_a_simulated_member_reads_their_status_with_the_wallet(simulated, tmp_path):
    """The claimant's wallet works against a consortium node, whose QBFT headers carry long extraData."""
    from consortium.wallet.keystore import Keystore

    root, out, _ = simulated
    user = json.loads((root / "accounts.json").read_text())["users"][0]
    key = bytes.fromhex(user["privateKey"].removeprefix("0x"))
    stored = Keystore(tmp_path / "wallet").save(key, "pw", light=True)
    result = hubao("wallet", "--wallet-dir", str(tmp_path / "wallet"), "--json", "status",
                   "--rpc", member_rpc(root), "--deployment", str(out / "deployment.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["member"] == stored.address
    suite = Suite(connect(member_rpc(root)), Deployment.load(out / "deployment.json"))
    assert status["state"] == suite.membership.state_of(stored.address)
    assert status["now"] >= suite.deployment.start
