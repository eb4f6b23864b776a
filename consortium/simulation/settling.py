"""The operator's settlement at a step, through the operator's own code: at a period's end,
finalize what is due, close, collect from who owes (topping them up ahead), pay out and refund
leavers; a few days later retry the debits that failed; after the grace period remove whoever
still has not paid.

All of it is the operator's, so one account's consecutive nonces keep it in order on chain: what
needs no answer from the chain before it is decided goes out together and is awaited once. The
finalizations go with the closes (each is a claim accepted before its period closes), the payout
with the refunds (both decided from what the collection left); only the collection waits for the
closes, whose shares it debits, and the refunds for the collection. The payout and the refunds go
with the step's wave: nothing the members send moves the pool's money (docs/simulation.md)."""

from __future__ import annotations

from consortium.client import DAY, wait_all
from consortium.operator import settlement
from consortium.simulation.world import Wave, World

RETRY_AFTER = 3 * DAY  # a failed debit is retried, then removed after the grace period (domain.md)


def settle(world: World, wave: Wave) -> None:
    """The one piece of settlement due at this step, if any; the payout and refunds join `wave`."""
    pool, now, due = world.staff.read.pool, world.now, world.collection
    period = pool.open_period()
    if period < world.last_period and pool.period_end(period) <= now:
        close_periods(world, wave)
    elif due.retry_due is not None and now >= due.retry_due:
        retry_debits(world, wave)
    elif due.removal_due is not None and now >= due.removal_due and due.failed_debits:
        remove_defaulters(world)


def close_periods(world: World, wave: Wave) -> None:
    """Finalize what is due, close every period that ended, and collect if anyone owes."""
    world.clock.ready(stamped=False)  # nothing here reads the chain's time before the closes land
    operator, now, stats, due = world.staff.operator, world.now, world.stats, world.collection
    finalizing = settlement.finalize_due(operator, now=now, wait=False, ids=world.open_claims())
    closed = settlement.close_periods(operator, before=world.last_period, now=now)
    wait_all(finalizing["pending"])  # landed before the closes: lower nonces
    stats.txs += 1 + len(closed)
    stats.periods_closed = world.staff.read.pool.open_period()
    stats.last_share = closed[-1]["share"] if closed else stats.last_share
    shared = closed and any(c["share"] for c in closed)
    if shared or due.failed_debits:
        in_plan = [p.address for p in world.people if p.joined_at is not None and p.out != "removed"]
        collect(world, in_plan, wave)
    if closed:
        due_at = world.staff.read.pool.period(stats.periods_closed - 1).dueAt  # the close's own clock
        due.retry_due = now + RETRY_AFTER  # a step after the close: inside the grace period
        due.removal_due = due_at + 1


def retry_debits(world: World, wave: Wave) -> None:
    world.clock.ready(stamped=False)  # what is owed does not depend on the chain's time
    world.collection.retry_due = None
    collect(world, list(world.collection.failed_debits), wave)


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


def collect(world: World, members: list[str], wave: Wave) -> None:
    """The operator's auto-debit of whoever owes, topping them up a few periods ahead; then pay
    out and refund leavers' unused credit."""
    if not members:
        return
    operator, stats, due = world.staff.operator, world.stats, world.collection
    result = settlement.collect(operator, settlement.may_owe(operator, members, due.paid_up_to))
    due.paid_up_to |= result.get("paid_up_to", {})
    stats.txs += -(-result["owing"] // settlement.COLLECT_BATCH)
    due.failed_debits = {m: due.failed_debits.get(m, world.now) for m in result["failed"]}
    wave.staff_pending.append(settlement.disburse(operator, wait=False))  # counted with the wave
    refund_leavers(world, wave)


def refund_leavers(world: World, wave: Wave) -> None:
    leavers = [p.address for p in world.people if p.joined_at is not None and p.out and not p.refunded]
    if leavers:
        wave.refunds = settlement.refund(world.staff.operator, leavers, wait=False)


def refunds_landed(world: World, sent: dict, receipts: list) -> None:
    """Who was refunded (a refund the pool could not pay yet is tried again at a later close)."""
    result = settlement.refunded(world.staff.operator, sent, receipts)
    world.stats.txs += len(result["refunded"])
    done = set(result["settled"])
    for p in world.people:
        if p.address in done:
            p.refunded = True
