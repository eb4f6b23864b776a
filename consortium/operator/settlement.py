"""Closing periods and moving money: finalize what is due, close every period that ended, collect
shares by auto-debit (topping members up a few periods ahead), pay claimants and the fee, refund
leavers' unused credit, remove defaulters. The treasurer mints money in."""

from __future__ import annotations

from consortium.client import Batch, Suite, wait_all
from consortium.client.tx import per_transaction, tx_gas_cap

OWED_CHUNK = 500
AHEAD_PERIODS = 24  # collect up to a year ahead (within the year cap): about one debit a member-year
REFUND_GAS = 120_000
LEAVING_AT_CLOSE, STOPPED = 2, 3  # CostSharing's account modes
MAX_CLOSES = 400
# Flat gas, sent without an estimate (an estimate executes the transaction once more on the node,
# and a later one in the same run would see the state before the earlier ones landed): about
# 1.5 times what each uses (docs/benchmarks.md); a refusal is named from its receipt all the same.
CLOSE_GAS = 400_000  # a close uses about 80,000-130,000
FINALIZE_GAS = 260_000  # a finalize uses about 174,000
RESOLVE_GAS = 320_000  # a finalize and the jury's close
# Batches are sent without waiting, so each gets a gas limit from its size rather than an estimate.
# (A debit starved of gas reverts the whole call: no contract catches an inner failure, so a tight
# limit cannot skip debits.)
GAS_PER_DEBIT = 30_000  # a debit uses about 16,000 (and 50,000 a batch); blocks fill by limits, not use
COLLECT_GAS = 100_000
COLLECT_BATCH = per_transaction(COLLECT_GAS, GAS_PER_DEBIT, 100)  # members per collect
# a removal stops the member's sharing and ends the membership: estimated, with room for GAS_MARGIN
REMOVE_BATCH = per_transaction(100_000, 80_000, 100)


def members(suite: Suite) -> list[str]:
    """Everyone who ever joined, from MemberJoined events (an operator's index; the chain never loops)."""
    seen: dict[str, None] = {}
    for event in suite.membership.events("MemberJoined", from_block=suite.deployment.block):
        seen[event["args"]["member"]] = None
    return list(seen)


def leavers(suite: Suite) -> list[str]:
    """Everyone whose membership ended, from MembershipEnded events (candidates for a refund)."""
    ended = suite.membership.events("MembershipEnded", from_block=suite.deployment.block)
    return list(dict.fromkeys(e["args"]["member"] for e in ended))


def finalize_due(
    suite: Suite, now: int | None = None, wait: bool = True, ids: list[int] | None = None
) -> dict:
    """Claims whose notice passed without objection are accepted; votes that ended are closed. All
    are sent at once, with flat gas, and awaited together: one block, however many claims are due
    (with wait=False, returned under `pending` for the caller to await). What is due is judged as of
    `now` (default: the chain's latest block), among the claims `ids` (default: every claim; a
    caller that tracks open claims saves reading them all)."""
    now = suite.now() if now is None else now
    ids = list(range(suite.claims.count())) if ids is None else list(ids)
    finalize, resolve = [], []
    for claim_id, c in zip(ids, suite.claims.claim_each(ids), strict=True):
        name = suite.claims.STATUSES[c.status]
        if name == "InNotice" and c.deadline <= now:
            finalize.append(claim_id)
        elif name == "Disputed" and suite.jury.case(claim_id).revealEndsAt <= now:
            resolve.append(claim_id)
    batch = Batch()
    for i in finalize:
        suite.claims.finalize(i, sender=batch.by(suite.tx), gas=FINALIZE_GAS)
    for i in resolve:
        suite.claims.resolve_dispute(i, sender=batch.by(suite.tx), gas=RESOLVE_GAS)
    pending = batch.send()
    if not wait:
        return {"finalized": finalize, "resolving": resolve, "pending": pending}
    wait_all(pending)
    resolved = [{"claim_id": i, "status": suite.claims.status(i)} for i in resolve]
    return {"finalized": finalize, "resolved": resolved}


def close_periods(suite: Suite, before: int | None = None, now: int | None = None) -> list[dict]:
    """Close every period that ended by `now` (default: the latest block) and is numbered below
    `before`, if given, in order: the closes are sent together (same sender, so the nonces keep them
    in order) and awaited together."""
    now = suite.now() if now is None else now
    first = suite.pool.open_period()
    last = first + MAX_CLOSES if before is None else min(before, first + MAX_CLOSES)
    count = 0
    while first + count < last and suite.pool.period_end(first + count) <= now:
        count += 1
    batch = Batch()
    for _ in range(count):
        suite.pool.close_period(sender=batch.by(suite.tx), gas=CLOSE_GAS)
    closed = []
    for receipt in wait_all(batch.send()):
        args = suite.pool.in_receipt(receipt, "PeriodClosed")[0]["args"]
        closed.append(
            {k: args[k] for k in ("period", "share", "sharing", "cases", "payouts", "fees", "shortfall")}
        )
    return closed


def owed_by(suite: Suite, who: list[str]) -> list[int]:
    """What each member owes now, read in chunks through the pool's owedBy view (one call each)."""
    out: list[int] = []
    for i in range(0, len(who), OWED_CHUNK):
        out += suite.pool.owed_by(who[i : i + OWED_CHUNK])
    return out


def top_up(suite: Suite, periods: int = AHEAD_PERIODS) -> int:
    """How far ahead to debit: `periods` times the largest share of the last `periods` closes, so a
    member debited once is covered for about as many closes again even while costs rise (what the
    last closes cost in all undershoots after quiet periods, such as the founders' waiting period:
    then nearly everyone owes again at every close); but never beyond what the year cap still
    allows this plan-year, so owed plus ahead stays within what a member's year can cost."""
    closed = suite.pool.open_period()
    first = max(0, closed - periods)
    records = suite.pool.period_each(list(range(max(0, first - 1), closed)))  # one batch of reads
    before = records.pop(0).indexAfter if first else 0
    largest = 0
    for p in records:
        largest, before = max(largest, p.indexAfter - before), p.indexAfter
    rules, start = suite.deployment.rules, suite.deployment.start
    year = (
        (suite.pool.period_end(closed - 1) - rules.period_length - start) // rules.year_length
        if closed
        else 0
    )
    return min(periods * largest, max(0, rules.year_cap - suite.pool.year_charged(year)))


def collect(suite: Suite, who: list[str] | None = None, ahead: int | None = None) -> dict:
    """Auto-debit whoever owes, topping them up `ahead` fen (default: `top_up`) so the next closes
    draw on their credit with no transaction. Members with credit left are not touched; the debits
    go out in batches sent at once and awaited together (a refusal of the whole call is raised,
    named from the first receipt); a failed debit is reported, never fatal."""
    everyone = who if who is not None else members(suite)
    result = {"members": len(everyone), "debited": 0, "collected": 0, "debits_failed": 0, "failed": []}
    debtors = [m for m, owed in zip(everyone, owed_by(suite, everyone), strict=True) if owed]
    result["owing"] = len(debtors)
    if not debtors:
        return result
    ahead = min(top_up(suite), suite.deployment.rules.year_cap) if ahead is None else ahead  # pool's cap
    result["ahead"] = ahead
    suite.pool.collect(debtors[:1], ahead, estimate=True)  # a refusal surfaces here
    size = per_transaction(COLLECT_GAS, GAS_PER_DEBIT, 100, tx_gas_cap(suite.w3))
    batch = Batch()
    for i in range(0, len(debtors), size):
        b = debtors[i : i + size]
        suite.pool.collect(b, ahead, sender=batch.by(suite.tx), gas=COLLECT_GAS + GAS_PER_DEBIT * len(b))
    result["paid_up_to"] = {}
    for receipt in wait_all(batch.send()):
        paid = suite.pool.in_receipt(receipt, "SharePaid")
        result["debited"] += len(paid)
        result["collected"] += sum(e["args"]["amount"] for e in paid)
        result["paid_up_to"] |= {e["args"]["member"]: e["args"]["paidUpTo"] for e in paid}
        result["failed"] += [e["args"]["member"] for e in suite.pool.in_receipt(receipt, "DebitFailed")]
    result["debits_failed"] = len(result["failed"])
    return result


def may_owe(suite: Suite, who: list[str], paid_up_to: dict[str, int]) -> list[str]:
    """Those of `who` who may owe now: all but the members an earlier collection (its `paid_up_to`)
    left paid up to at least the pool's index. Saves reading what everyone owes at every close
    when most were topped up ahead."""
    index = suite.pool.book().index
    return [m for m in who if paid_up_to.get(m, -1) < index]


def refund(suite: Suite, who: list[str], wait: bool = True) -> dict:
    """Return unused credit to members who no longer share (exited after the close, aged out, paid
    out); members still sharing, or sharing until the coming close, are left for a later run. With
    wait=False: what was sent (`pending`), for the caller to await and pass to `refunded`."""
    accounts = suite.pool.account_each(who)
    credits = suite.pool.credit_each(who)
    closed = suite.pool.open_period()
    stopped = [
        (m, c)
        for m, a, c in zip(who, accounts, credits, strict=True)
        if a[3] == STOPPED or (a[3] == LEAVING_AT_CLOSE and a[2] < closed)
    ]
    due = [m for m, c in stopped if c]
    batch = Batch()
    for m in due:
        suite.pool.refund(m, sender=batch.by(suite.tx), gas=REFUND_GAS)
    sent = {"due": due, "not_due": [m for m, c in stopped if not c], "pending": batch.send()}
    return sent if not wait else refunded(suite, sent, wait_all(sent["pending"], strict=False))


def refunded(suite: Suite, sent: dict, receipts: list) -> dict:
    """What the refunds `refund` sent did, from their receipts."""
    refunded, failed = [], []
    for m, receipt in zip(sent["due"], receipts, strict=True):
        if isinstance(receipt, Exception):  # e.g. the pool advanced payouts: a later run refunds
            failed.append({"member": m, "why": str(receipt)})
            continue
        refunded += [
            {"member": e["args"]["member"], "amount": e["args"]["amount"]}
            for e in suite.pool.in_receipt(receipt, "CreditRefunded")
        ]
    return {
        "refunded": refunded,
        "amount": sum(r["amount"] for r in refunded),
        "failed": failed,
        "settled": sent["not_due"] + [r["member"] for r in refunded],  # no credit left: never again
    }


def disburse(suite: Suite, max_payouts: int = 50, wait: bool = True):
    """Pay claimants and the fee from what was collected (estimated: its gas grows with the
    payouts); with wait=False the pending transaction, for the caller to await with its others."""
    sent = suite.pool.disburse(max_payouts, wait=False)
    if not wait:
        return sent
    receipt = sent.wait()
    paid = [e["args"] for e in suite.pool.in_receipt(receipt, "ClaimantPaid")]
    fees = sum(e["args"]["amount"] for e in suite.pool.in_receipt(receipt, "FeePaid"))
    paid = [{"claim_id": p["claimId"], "amount": p["amount"], "still_owed": p["stillOwed"]} for p in paid]
    return {"paid": paid, "fees": fees}


def settle(suite: Suite, max_payouts: int = 50) -> dict:
    """The operator's settlement run, in order: decide what is due, close, collect, pay out."""
    due = finalize_due(suite)
    closed = close_periods(suite)
    collected = collect(suite)
    paid = disburse(suite, max_payouts)
    refunds = refund(suite, leavers(suite))
    return {
        **due,
        "closed": closed,
        **collected,
        **paid,
        "refunds": refunds,
        "pool_balance": suite.pool.balance(),
    }


def remove_defaulters(suite: Suite, who: list[str] | None = None) -> list[str]:
    candidates = who if who is not None else members(suite)
    flags = suite.pool.is_defaulter_each(candidates)
    defaulters = [m for m, flag in zip(candidates, flags, strict=True) if flag]
    size = per_transaction(100_000, 80_000, 100, tx_gas_cap(suite.w3))
    for i in range(0, len(defaulters), size):
        suite.pool.remove_defaulters(defaulters[i : i + size])
    return defaulters


MINT_GAS, MINT_GAS_EACH = 60_000, 32_000  # a mint uses about 25,000 a holder (blocks fill by limits)
FUND_BATCH = per_transaction(MINT_GAS, MINT_GAS_EACH, 200)  # accounts per mintEach


def fund_many(suite: Suite, accounts: list[str], amount: int, wait: bool = True) -> list:
    """The treasurer credits `amount` fen to each account, a few hundred per `mintEach`; receipts,
    or (wait=False) the pending transactions to await along with others."""
    size = per_transaction(MINT_GAS, MINT_GAS_EACH, 200, tx_gas_cap(suite.w3))
    batch = Batch()
    for i in range(0, len(accounts), size):
        c = accounts[i : i + size]
        suite.token.mint_each(c, amount, sender=batch.by(suite.tx), gas=MINT_GAS + MINT_GAS_EACH * len(c))
    pending = batch.send()
    return wait_all(pending) if wait else pending


GAS_MONEY = 10**17  # wei: a member's transactions for years at consortium gas prices


def fund(suite: Suite, account: str, amount: int, gas_money: int = GAS_MONEY) -> dict:
    """Money entering the platform: the treasurer mints settlement tokens to a member's balance, and
    tops up the member's gas money when it runs low (the platform pays its members' gas)."""
    topped = 0
    if gas_money and suite.w3.eth.get_balance(account) < gas_money // 2:
        suite.tx.transfer_eth(account, gas_money)
        topped = gas_money
    receipt = suite.token.mint(account, amount) if amount else None
    return {
        "account": account,
        "amount": amount,
        "balance": suite.token.balance_of(account),
        "gas_money": topped,
        "tx": receipt["transactionHash"].hex() if receipt else None,
    }
