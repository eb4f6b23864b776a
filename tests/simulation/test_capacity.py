"""The capacity table's and the launch model's arithmetic from known inputs, without a chain: the
cost of an operation fitted from batches of different sizes, the real plan's year scaled from a
run's counts, the needs per second, the margin on one core and the sustained/alone ratio; the
growth curve through the published points and the incidence split by tier."""

from __future__ import annotations

import pytest

from consortium.client import Deployment
from consortium.simulation import capacity, launch
from consortium.simulation.chainlog import Chain, Event, Tx
from consortium.simulation.params import REAL_INCIDENCE, SimConfig

MEMBERS = 100_000_000


def chain_of(txs: list[Tx], events: list[Event]) -> Chain:
    deployment = Deployment(1, 0, 0, "0x" + "00" * 20, {})
    return Chain(deployment, events, {}, 0, 0, txs)


def joined(block: int, index: int, n: int) -> list[Event]:
    return [Event("MemberJoined", {}, block, (index, i)) for i in range(n)]


def test_a_batch_costs_per_transaction_plus_per_member():
    # enrollBatch of 10 and of 100 members: gas = 50,000 + 140,000 per member
    txs = [Tx(1, 0, "membership.enrollBatch", 50_000 + 140_000 * 10),
           Tx(2, 0, "membership.enrollBatch", 50_000 + 140_000 * 100)]  # fmt: skip
    ops = capacity.per_operation(chain_of(txs, joined(1, 0, 10) + joined(2, 0, 100)))
    op = ops["membership.enrollBatch"]
    assert (op["txs"], op["units"], op["gas_per_tx"], op["gas_per_unit"]) == (2, 110, 50_000, 140_000)
    assert capacity.fit([(100, 1_000_000)]) == (0.0, 10_000.0)  # one size: all of it per member


def test_the_real_year_and_what_it_needs_per_second():
    config = SimConfig(members=1_000, min_votes=5)
    claims = [Tx(3, i, "claims.submit", 150_000) for i in range(4)]
    votes = [Tx(4, i, "jury.commit", 60_000) for i in range(10)]  # 10 votes on one dispute
    closes = [Tx(5 + i, 0, "pool.closePeriod", 100_000) for i in range(24)]
    exits = [Tx(40 + i, 0, "membership.exit", 60_000) for i in range(40)]
    events = [Event("ClaimAccepted", {}, 9, (0, i)) for i in range(2)] + [
        Event("ClaimDisputed", {}, 9, (1, 0))
    ]
    events += [Event("PeriodClosed", {}, 5 + i, (0, 0)) for i in range(24)]
    chain = chain_of(claims + votes + closes + exits, events)
    ops = capacity.per_operation(chain)
    year = capacity.real_year(chain, ops, member_years=1_000.0, config=config)
    aided = 68_675
    assert year["claims.submit"]["units"] == pytest.approx(4 / 2 * aided)  # 2 claims per case paid
    # 10 votes where 5 were needed: the real plan's 1,000 needed make 2,000 a dispute, 1 per 2 cases
    assert year["jury.commit"]["units"] == pytest.approx(10 * 1_000 / 5 * (1 / 2) * aided)
    assert year["pool.closePeriod"]["units"] == pytest.approx(24)
    assert year["membership.exit"]["units"] == pytest.approx(40 / 1_000 * MEMBERS)  # per member-year
    assert year["membership.exit"]["gas"] == pytest.approx(0.04 * MEMBERS * 60_000)
    totals = {"member_years": 1_000.0, "chain_tx_per_second": 5.0, "chain_gas_per_second": 2_000_000}
    alone = {"what": "test", "gas_per_second": 20_000_000}
    t = capacity.table(chain, totals, config, alone, nodes=5, cores=2)
    gas = sum(v["gas"] for v in year.values())
    assert t["needs"][0]["gas_per_s"] == round(gas / capacity.YEAR_S)
    assert t["gas_per_member_year_at_real_incidence"] == round(gas / MEMBERS)
    busiest = max(r["gas_per_s"] for r in t["needs"])
    assert t["margin_on_one_core"] == round(20_000_000 / busiest, 2)
    assert t["carries_real_plan_on_one_core"] is (busiest <= 20_000_000)
    assert t["sustained_over_alone"] == round(2_000_000 / (20_000_000 * 2 / 5), 2)  # 5 nodes, 2 cores
    # each operation at its own rate where the run measured it: exits execute 1,000 times slower
    slow = {**alone, "kinds": {"membership.exit": {"gas_per_second": 20_000}}}
    t = capacity.table(chain, totals, config, slow, nodes=5, cores=2)
    average = t["needs"][0]
    exits = year["membership.exit"]["gas"] / capacity.YEAR_S
    core = exits / 20_000 + (average["gas_per_s"] - exits) / 20_000_000
    assert core > 0.3 and average["core_share"] == pytest.approx(core, abs=0.001)
    assert t["margin_on_one_core"] == pytest.approx(1 / max(r["core_share"] for r in t["needs"]), rel=0.01)


def test_the_growth_curve_goes_through_the_published_points():
    assert launch.share_in_plan(0) == 0
    assert launch.share_in_plan(182) == pytest.approx(0.5)  # 16 April 2019: 50 million
    assert launch.share_in_plan(402) == pytest.approx(1.0)  # 22 November 2019: 100 million
    assert launch.share_in_plan(1200) == pytest.approx(0.75)  # 28 January 2022: 75 million
    assert launch.join_day(0.5) == pytest.approx(182) and launch.join_day(0.25) == pytest.approx(91)
    for u in (0.1, 0.6, 0.9):
        assert launch.share_in_plan(launch.join_day(u)) == pytest.approx(u)


def test_incidence_by_tier_keeps_the_overall_rate_and_the_2020_case_mix():
    config = SimConfig(incidence=0.05)
    under, over = launch.incidence_by_tier(config)
    p = launch.UNDER_40_SHARE_OF_MEMBERS
    assert p * under + (1 - p) * over == pytest.approx(0.05)
    cases_under = p * under / (p * under + (1 - p) * over)
    average = cases_under * 300_000 + (1 - cases_under) * 100_000
    assert average == pytest.approx(91 * MEMBERS / 1.08 / 68_675)  # 2020's RMB 91 a member
    assert config.scale == pytest.approx(0.05 / REAL_INCIDENCE)
