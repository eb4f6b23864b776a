"""The operator's settlement at a step, through the operator's own code: at a period's end,
finalize what is due, close, collect from who owes (topping them up ahead), pay out and refund
leavers; a few days later retry the debits that failed; after the grace period remove whoever
still has not paid."""

from __future__ import annotations

from consortium.client import DAY
from consortium.operator import settlement
from consortium.simulation.world import World

RETRY_AFTER = 3 * DAY  # a failed debit is retried, then removed after the grace period (domain.md)


def settle(world: World) -> None:
    """The one piece of settlement due at this step, if any."""
    pool, now, due = world.staff.read.pool, world.now, world.collection
    period = pool.open_period()
    if period < world.last_period and pool.period_end(period) <= now:
        close_periods(world)
    elif due.retry_due is not None and now >= due.retry_due:
        retry_debits(world)
    elif due.removal_due is not None and now >= due.removal_due and due.failed_debits:
        remove_defaulters(world)


def close_periods(world: World) -> None:
    """Finalize what is due, close every period that ended, and collect if anyone owes."""
    world.clock.ready()
    operator, now, stats, due = world.staff.operator, world.now, world.stats, world.collection
    settlement.finalize_due(operator, now=now, ids=world.open_claims())
    closed = settlement.close_periods(operator, before=world.last_period, now=now)
    stats.txs += 1 + len(closed)
    stats.periods_closed = world.staff.read.pool.open_period()
    stats.last_share = closed[-1]["share"] if closed else stats.last_share
    shared = closed and any(c["share"] for c in closed)
    if shared or due.failed_debits:
        collect(world, [p.address for p in world.people if p.joined_at is not None and p.out != "removed"])
    if closed:
        due_at = world.staff.read.pool.period(stats.periods_closed - 1).dueAt  # the close's own clock
        due.retry_due = now + RETRY_AFTER  # a step after the close: inside the grace period
        due.removal_due = due_at + 1


def retry_debits(world: World) -> None:
    world.clock.ready()
    world.collection.retry_due = None
    collect(world, list(world.collection.failed_debits))


def remove_defaulters(world: World) -> None:
    """Whoever has still not paid after the grace period is removed from the plan."""
    world.clock.ready()
    due = world.collection
    due.removal_due = None
    removed = settlement.remove_defaulters(world.staff.operator, who=list(due.failed_debits))
    world.stats.txs += 1 if removed else 0
    gone = set(removed)
    for p in world.people:
        if p.address in gone:
            p.out = "removed"
    due.failed_debits = {m: t for m, t in due.failed_debits.items() if m not in gone}


def collect(world: World, members: list[str]) -> None:
    """The operator's auto-debit of whoever owes, topping them up a few periods ahead; then pay
    out and refund leavers' unused credit."""
    if not members:
        return
    operator, stats, due = world.staff.operator, world.stats, world.collection
    result = settlement.collect(operator, settlement.may_owe(operator, members, due.paid_up_to))
    due.paid_up_to |= result.get("paid_up_to", {})
    stats.txs += -(-result["owing"] // settlement.COLLECT_BATCH)
    due.failed_debits = {m: due.failed_debits.get(m, world.now) for m in result["failed"]}
    settlement.disburse(operator)
    stats.txs += 1
    refund_leavers(world)


def refund_leavers(world: World) -> None:
    leavers = [p.address for p in world.people if p.joined_at is not None and p.out and not p.refunded]
    if not leavers:
        return
    result = settlement.refund(world.staff.operator, leavers)
    world.stats.txs += len(result["refunded"])
    done = set(result["settled"])
    for p in world.people:
        if p.address in done:
            p.refunded = True
