"""Cost sharing on the per-member index: the formula, rounding, the claimant's exemption,
defaulters, auto-debit and payouts from collected money only."""

import pytest

from consortium.client import ContractRefusal
from consortium.wallet.words import explain
from tests.contracts.world import ROOT, refused


def check_books(world):
    pool, token = world.operator.pool, world.operator.token
    t = pool.totals()
    assert token.balance_of(pool.address) == t.paidIn - t.paidOut - t.feesPaid - t.refunded == pool.balance()


@pytest.fixture
def eight(world):
    members = world.join_many(8)
    world.advance(world.rules.waiting_period + 1)
    return members


def test_share_is_rounded_up_and_the_surplus_carried(world, eight):
    claimant, *others = eight
    world.accept_claim(claimant)
    cover, fee = world.rules.cover_under_40, world.rules.cover_under_40 * world.rules.fee_bps // 10_000
    closed = world.close_open_period()
    need = cover + fee  # 108,000 fen shared by the 7 others
    assert closed["sharing"] == 7 and closed["cases"] == 1
    assert closed["share"] == -(-need // 7) == 15_429
    assert closed["surplus"] == 7 * 15_429 - need == 3
    for m in others:
        assert m.pool.owed(m.address) == 15_429
    assert claimant.pool.owed(claimant.address) == 0  # never pays towards their own case

    second, *rest = others
    world.accept_claim(second)
    closed = world.close_open_period()
    assert closed["share"] == -(-(need - 3) // 6)  # last period's surplus lowers this one's need
    assert second.pool.owed(second.address) == 15_429  # owes the first case, not their own


def test_auto_debit_and_payout_only_from_collected_money(world, eight):
    claimant, *others = eight
    cid = world.accept_claim(claimant)
    world.close_open_period()
    pool = world.operator.pool
    pool.collect([m.address for m in others[:3]])
    pool.disburse()
    paid = claimant.token.balance_of(claimant.address) - 1_000_000
    assert paid == 3 * 15_429  # only what was actually collected
    assert pool.payout(0).paid == paid and claimant.token.balance_of(world.treasury) == 0
    check_books(world)
    pool.collect([m.address for m in others])  # members already paid are skipped
    pool.disburse()
    assert claimant.token.balance_of(claimant.address) - 1_000_000 == world.rules.cover_under_40
    assert claimant.token.balance_of(world.treasury) == 8_000
    assert pool.balance() == 3  # the rounding surplus, kept for the next period
    done = pool.payout(0)  # paid in full: the queue keeps no paid amounts per payout, yet shows them
    assert (done.paid, done.fee, done.feePaid) == (done.amount, 8_000, 8_000) and done.amount == 100_000
    check_books(world)
    events = pool.events("ClaimantPaid", claimId=cid)
    assert [e["args"]["stillOwed"] for e in events] == [100_000 - paid, 0]


def test_a_member_can_pay_their_own_share(world):
    payer = world.join(mandate=False)
    claimant = world.join()
    world.advance(world.rules.waiting_period + 1)
    with refused("NothingOwed"):
        payer.pool.pay()
    world.accept_claim(claimant)
    world.close_open_period()
    owed = payer.pool.owed(payer.address)
    world.operator.pool.collect([payer.address])  # no mandate: the debit fails, reported
    assert world.operator.pool.events("DebitFailed", member=payer.address)[0]["args"]["amount"] == owed
    payer.pool.pay()  # their own transaction is their word: no approval first
    assert payer.pool.owed(payer.address) == 0
    check_books(world)


def test_only_the_operator_collects(world):
    with refused("AccessControlUnauthorizedAccount"):
        world.admin.pool.collect([world.admin.address])


def test_a_period_cannot_close_early(world):
    pool = world.operator.pool
    with pytest.raises(ContractRefusal) as err:
        pool.close_period()
    assert err.value.name == "PeriodNotOver" and err.value.args_ == (0, pool.period_end(0))


def test_defaulters_are_removed_after_the_grace_and_their_shares_carried(world, eight):
    claimant, poor, *others = eight
    poor.token.transfer(world.treasury, poor.token.balance_of(poor.address))  # cannot pay
    world.accept_claim(claimant)
    first = world.close_open_period()
    pool = world.operator.pool
    pool.collect([m.address for m in [poor, *others]])
    with refused("NotADefaulter"):
        pool.remove_defaulter(poor.address)  # still inside the grace
    world.advance(world.rules.grace_period)
    pool.remove_defaulters([poor.address, others[0].address])  # the payer is skipped
    assert poor.membership.state_of(poor.address) == "Removed"
    assert others[0].membership.state_of(others[0].address) == "Active"
    assert pool.owed(poor.address) == 0
    assert pool.carry().shortfall == first["share"]
    assert pool.book().sharing == 6
    second = world.close_open_period()  # no new case: the shortfall is levied on the 6 who remain
    assert second["share"] == -(-(first["share"] - first["surplus"]) // 6)
    pool.collect([m.address for m in others])
    pool.disburse()
    assert claimant.token.balance_of(claimant.address) == 1_000_000 + world.rules.cover_under_40
    assert pool.totals().writtenOff == first["share"]
    check_books(world)


def test_leaving_shares_the_current_period_then_stops(world, eight):
    claimant, leaver, second, *others = eight
    world.accept_claim(claimant)
    leaver.membership.exit()
    assert leaver.membership.state_of(leaver.address) == "Exited"
    first = world.close_open_period()
    assert first["sharing"] == 7  # the leaver still shares this period's case
    assert leaver.pool.owed(leaver.address) == first["share"]
    world.accept_claim(second)
    world.close_open_period()
    assert leaver.pool.owed(leaver.address) == first["share"]  # not the next one
    world.operator.pool.collect([leaver.address])
    assert leaver.pool.owed(leaver.address) == 0


def test_a_claimant_in_the_waiting_period_refusal_still_owes_earlier_shares(world, eight):
    claimant, *others = eight
    newcomer = world.join()
    world.accept_claim(claimant)
    world.close_open_period()
    owed = newcomer.pool.owed(newcomer.address)
    assert owed > 0
    newcomer.claims.submit(4, False, ROOT)  # refused in the waiting period: membership ends
    assert newcomer.membership.state_of(newcomer.address) == "EndedInWaitingPeriod"
    assert newcomer.pool.owed(newcomer.address) == owed


def test_collecting_ahead_leaves_credit_that_later_closes_use_and_leavers_get_back(world, eight):
    """One debit covers several periods: the top-up is credit, closes draw on it with no transaction,
    a member with credit is not debited again, and a leaver's unused credit is refunded."""
    claimant, leaver, second, *others = eight
    pool = world.operator.pool
    world.accept_claim(claimant)
    first = world.close_open_period()
    share = first["share"]
    payers = [leaver, second, *others]
    pool.collect([m.address for m in payers], ahead=3 * share)
    for m in payers:
        assert pool.owed(m.address) == 0 and pool.credit(m.address) == 3 * share
    pool.disburse()
    assert claimant.token.balance_of(claimant.address) == 1_000_000 + world.rules.cover_under_40
    check_books(world)

    leaver.membership.exit()  # shares the current period, then stops
    world.accept_claim(second)
    second_before = second.token.balance_of(second.address)
    closed = world.close_open_period()
    assert pool.owed(leaver.address) == 0 and pool.credit(leaver.address) == 3 * share - closed["share"]
    debited = pool.collect([m.address for m in payers], ahead=3 * share)
    assert pool.in_receipt(debited, "SharePaid") == []  # credit covered everyone: no debit at all
    assert pool.owed_by([m.address for m in payers]) == [0] * len(payers)

    with refused("StillSharing"):
        pool.refund(others[0].address)
    before = leaver.token.balance_of(leaver.address)
    pool.refund(leaver.address)
    assert leaver.token.balance_of(leaver.address) - before == 3 * share - closed["share"]
    assert pool.credit(leaver.address) == 0 and pool.totals().refunded == 3 * share - closed["share"]
    with refused("NoCredit"):
        pool.refund(leaver.address)
    pool.disburse()
    assert second.token.balance_of(second.address) - second_before == world.rules.cover_under_40
    check_books(world)


def test_a_top_up_the_balance_cannot_cover_still_debits_the_dues(world, eight):
    claimant, poor, *others = eight
    world.accept_claim(claimant)
    share = world.close_open_period()["share"]
    balance = poor.token.balance_of(poor.address)
    receipt = world.operator.pool.collect([poor.address], ahead=balance)  # dues + ahead > balance
    assert [e["args"]["amount"] for e in world.operator.pool.in_receipt(receipt, "SharePaid")] == [share]
    assert world.operator.pool.in_receipt(receipt, "DebitFailed") == []
    assert poor.pool.owed(poor.address) == 0 and poor.pool.credit(poor.address) == 0


def test_a_top_up_ahead_is_at_most_the_year_cap(world, eight):
    """The closes of a year draw at most the year cap: the operator may not make anyone lend the
    pool more than that ahead, and the refusal names the cap."""
    claimant, member, *_ = eight
    world.accept_claim(claimant)
    share = world.close_open_period()["share"]
    cap = world.rules.year_cap
    pool = world.operator.pool
    with refused("AheadOverYearCap") as err:
        pool.collect([member.address], ahead=cap + 1)
    assert err.value.args_ == (cap + 1, cap)
    assert explain(err.value) == (
        "members may be topped up at most RMB 100,000.00 ahead (the plan's year cap), not RMB 100,000.01"
    )
    assert pool.owed(member.address) == share  # refused whole: nobody was debited
    world.treasurer.token.mint(member.address, cap)
    pool.collect([member.address], ahead=cap)
    assert pool.credit(member.address) == cap
