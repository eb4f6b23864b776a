"""Per-case and per-year caps on a member's share; what they hold back carries over."""

import pytest

from consortium.client import DAY, Rules
from consortium.operator import settlement
from tests.contracts.world import make_world


@pytest.fixture(scope="module")
def base_world():
    # 4 members could never fund 1,000 fen within a 10-fen-per-case cap: the caps must bind
    return make_world(
        Rules(cover_under_40=1_000, cover_40_to_59=500, case_cap=100, year_cap=250, min_votes=1)
    )


def test_case_cap_holds_back_and_the_shortfall_is_carried(world):
    claimant, *others = world.join_many(5)
    world.advance(world.rules.waiting_period + 1)
    world.accept_claim(claimant)
    first = world.close_open_period()
    assert first["share"] == 100  # ceil(1,080 / 4) = 270 > 100 per case
    assert first["shortfall"] == 1_080 - 400
    second = world.close_open_period()  # the carried case still counts for the cap
    assert second["share"] == 100 and second["cases"] == 1
    third = world.close_open_period()  # the year cap (250) leaves only 50 this year
    assert third["share"] == 50
    assert world.close_open_period()["share"] == 0  # year exhausted: nothing more this year
    world.advance(365 * DAY)
    pool = world.operator.pool
    while pool.period_end(pool.open_period()) <= world.now():
        last = world.close_open_period()
    assert last["shortfall"] == 0
    assert sum(p["args"]["share"] for p in pool.events("PeriodClosed")) * 4 == 1_080 + last["surplus"]
    pool.collect([m.address for m in others])
    pool.disburse()
    assert claimant.token.balance_of(claimant.address) == 1_000_000 + 1_000


def test_the_operator_tops_up_no_further_than_the_year_cap(world):
    """The operator's usual top-up (AHEAD_PERIODS times the largest recent share) is more than this
    plan's year cap allows: the auto-debit asks for what the cap still leaves this plan-year (the
    cap less what the year has charged), which the pool allows, instead of being refused."""
    claimant, *payers = world.join_many(5)
    world.advance(world.rules.waiting_period + 1)
    world.accept_claim(claimant)
    share = world.close_open_period()["share"]
    room = world.rules.year_cap - share
    assert settlement.AHEAD_PERIODS * share > room > 0
    assert settlement.top_up(world.operator) == room
    result = settlement.collect(world.operator, [m.address for m in payers])
    assert result["ahead"] == room and result["debits_failed"] == 0
    assert [world.operator.pool.credit(m.address) for m in payers] == [room] * len(payers)
