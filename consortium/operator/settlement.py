"""Closing periods and moving money: finalize what is due, close every period that ended, collect
shares by auto-debit, pay claimants and the fee, remove defaulters. The treasurer mints money in."""

from __future__ import annotations

from consortium.client import Suite, Transactor
from consortium.operator.reads import all_claims, read_many

COLLECT_BATCH = 100
MAX_CLOSES = 400
# Batches are sent without waiting, so each gets a gas limit from its size rather than an estimate.
# (A debit starved of gas reverts the whole call, see GasGuard, so a tight limit cannot skip debits.)
GAS_PER_DEBIT = 70_000


def members(suite: Suite) -> list[str]:
    """Everyone who ever joined, from MemberJoined events (an operator's index; the chain never loops)."""
    seen: dict[str, None] = {}
    for event in suite.membership.events("MemberJoined", from_block=suite.deployment.block):
        seen[event["args"]["member"]] = None
    return list(seen)


def finalize_due(suite: Suite) -> dict:
    """Claims whose notice passed without objection are accepted; votes that ended are closed."""
    now = suite.now()
    finalized, resolved = [], []
    for claim_id, c in enumerate(all_claims(suite)):
        name = suite.claims.STATUSES[c.status]
        if name == "InNotice" and c.deadline <= now:
            suite.claims.finalize(claim_id)
            finalized.append(claim_id)
        elif name == "Disputed" and suite.jury.case(claim_id).revealEndsAt <= now:
            suite.claims.resolve_dispute(claim_id)
            resolved.append({"claim_id": claim_id, "status": suite.claims.status(claim_id)})
    return {"finalized": finalized, "resolved": resolved}


def close_periods(suite: Suite) -> list[dict]:
    now = suite.now()
    closed = []
    for _ in range(MAX_CLOSES):
        period = suite.pool.open_period()
        if suite.pool.period_end(period) > now:
            break
        receipt = suite.pool.close_period()
        args = suite.pool.in_receipt(receipt, "PeriodClosed")[0]["args"]
        closed.append(
            {k: args[k] for k in ("period", "share", "sharing", "cases", "payouts", "fees", "shortfall")}
        )
    return closed


def collect(suite: Suite, who: list[str] | None = None) -> dict:
    """Auto-debit: every batch is sent at once and awaited together (the contract skips whoever
    owes nothing, so no per-member read is needed first); a failed debit is reported, never fatal."""
    everyone = who if who is not None else members(suite)
    result = {"members": len(everyone), "debited": 0, "collected": 0, "debits_failed": 0, "failed": []}
    if not everyone:
        return result
    suite.tx.estimate(suite.pool.contract.functions.collect(everyone[:1]))  # a refusal (role) surfaces here
    batches = [everyone[i : i + COLLECT_BATCH] for i in range(0, len(everyone), COLLECT_BATCH)]
    pending = [suite.pool.collect(b, gas=100_000 + GAS_PER_DEBIT * len(b), wait=False) for b in batches]
    for receipt in Transactor.wait_all(pending):
        paid = suite.pool.in_receipt(receipt, "SharePaid")
        result["debited"] += len(paid)
        result["collected"] += sum(e["args"]["amount"] for e in paid)
        result["failed"] += [e["args"]["member"] for e in suite.pool.in_receipt(receipt, "DebitFailed")]
    result["debits_failed"] = len(result["failed"])
    return result


def disburse(suite: Suite, max_payouts: int = 50) -> dict:
    receipt = suite.pool.disburse(max_payouts)
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
    return {**due, "closed": closed, **collected, **paid, "pool_balance": suite.pool.balance()}


def remove_defaulters(suite: Suite, who: list[str] | None = None) -> list[str]:
    candidates = who if who is not None else members(suite)
    flags = read_many(suite.w3, [suite.pool.contract.functions.isDefaulter(m) for m in candidates])
    defaulters = [m for m, flag in zip(candidates, flags, strict=True) if flag]
    for i in range(0, len(defaulters), COLLECT_BATCH):
        suite.pool.remove_defaulters(defaulters[i : i + COLLECT_BATCH])
    return defaulters


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
