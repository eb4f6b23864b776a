"""The books, recomputed from the chain alone (chainlog.py) and checked, each check a named step.

Reconciliation replays who was sharing at each period's close (SharingStarted / SharingStopped /
DefaulterRemoved) and checks, to the fen: what each member was charged equals what they paid, less
what was refunded and the credit they still hold, plus what was written off and what they still
owe; every fen the pool took in is in its balance or was paid to a claimant, as the fee or back as
a refund; each close's levy balances the payouts, fees, surplus and shortfall.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from web3 import Web3

from consortium.client import Suite
from consortium.simulation.chainlog import Chain, Event

ENDED = {2: "exited", 3: "removed", 4: "paid_out", 5: "ended_in_waiting", 6: "aged_out"}
SHARING, LEAVING, STOPPED = "sharing", "leaving", "stopped"
PROBLEMS_SHOWN = 20


@dataclass
class Replay:
    """Who shared in each close, and what each member was charged, from events only."""

    charged: dict[str, int]
    paid: dict[str, int]
    written_off: dict[str, int]
    counted_at: dict[int, set[str]]  # period -> members who shared in its close
    sharing_mismatch: list[str]


def replay(chain: Chain) -> Replay:
    mode: dict[str, str] = {}
    stop_period: dict[str, int] = {}
    charged: dict[str, int] = defaultdict(int)
    paid: dict[str, int] = defaultdict(int)
    written: dict[str, int] = defaultdict(int)
    counted_at: dict[int, set[str]] = {}
    mismatch = []
    for e in chain.events:
        a = e.args
        if e.name == "SharingStarted":
            mode[a["member"]] = SHARING
        elif e.name == "SharingStopped":
            m = a["member"]
            if a["atClose"]:
                mode[m] = LEAVING
                stop_period[m] = a["period"]
            elif mode.get(m) in (SHARING, LEAVING):
                mode[m] = STOPPED
        elif e.name == "DefaulterRemoved":
            mode[a["member"]] = STOPPED
            written[a["member"]] += a["writtenOff"]
        elif e.name == "SharePaid":
            paid[a["member"]] += a["amount"]
        elif e.name == "PeriodClosed":
            p = a["period"]
            counted = {m for m, s in mode.items() if s in (SHARING, LEAVING)}
            if len(counted) != a["sharing"]:
                mismatch.append(f"period {p}: chain says {a['sharing']} sharing, events give {len(counted)}")
            counted_at[p] = counted
            for m in counted:
                charged[m] += a["share"]
            for m in [m for m, s in mode.items() if s == LEAVING and stop_period[m] <= p]:
                mode[m] = STOPPED
    return Replay(dict(charged), dict(paid), dict(written), counted_at, mismatch)


@dataclass
class Books:
    """The sums the checks compare: from events, and from the contracts' state at the end."""

    minted: int
    burned: int
    into_pool: int
    to_treasury: int
    out_of_pool: int  # other than the fee
    share_paid: int
    claimant_paid: int
    fee_paid: int
    refunds: dict[str, int]
    written_off: int
    queued: int
    fees_due: int
    totals: tuple  # the pool's own running totals
    pool_balance: int  # the token's balance of the pool
    pool_says: int  # the pool's own balance()
    supply: int

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())


def sum_of(events: list[Event], field: str) -> int:
    return sum(e.args[field] for e in events)


def books(suite: Suite, chain: Chain) -> Books:
    pool, treasury = suite.pool.address, chain.deployment.roles.treasury
    transfers = chain.of("Transfer")
    refunds: dict[str, int] = defaultdict(int)
    for e in chain.of("CreditRefunded"):
        refunds[e.args["member"]] += e.args["amount"]
    out = [e for e in transfers if e.args["from"] == pool]
    return Books(
        minted=sum_of([e for e in transfers if int(e.args["from"], 16) == 0], "value"),
        burned=sum_of([e for e in transfers if int(e.args["to"], 16) == 0], "value"),
        into_pool=sum_of([e for e in transfers if e.args["to"] == pool], "value"),
        to_treasury=sum_of([e for e in out if e.args["to"] == treasury], "value"),
        out_of_pool=sum_of([e for e in out if e.args["to"] != treasury], "value"),
        share_paid=sum_of(chain.of("SharePaid"), "amount"),
        claimant_paid=sum_of(chain.of("ClaimantPaid"), "amount"),
        fee_paid=sum_of(chain.of("FeePaid"), "amount"),
        refunds=dict(refunds),
        written_off=sum_of(chain.of("DefaulterRemoved"), "writtenOff"),
        queued=sum_of(chain.of("PayoutQueued"), "amount"),
        fees_due=sum_of(chain.of("PayoutQueued"), "fee"),
        totals=suite.pool.totals(),
        pool_balance=suite.token.balance_of(pool),
        pool_says=suite.pool.balance(),
        supply=suite.token.total_supply(),
    )


def pool_checks(b: Books) -> dict[str, bool]:
    """The pool's money: what came in, went out and stayed, three ways (events, transfers, state)."""
    t = b.totals
    return {
        "shares paid == transfers into the pool == totals.paidIn": b.share_paid == b.into_pool == t.paidIn,
        "claimants paid + refunds == transfers out of the pool (not the fee)": b.claimant_paid + b.refunded
        == b.out_of_pool,
        "claimants paid == totals.paidOut, refunds == totals.refunded": b.claimant_paid == t.paidOut
        and b.refunded == t.refunded,
        "fees paid == transfers to the treasury == totals.feesPaid": (
            b.fee_paid == b.to_treasury == t.feesPaid
        ),
        "pool token balance == paid in - paid out - fees - refunds": b.pool_balance
        == b.share_paid - b.claimant_paid - b.fee_paid - b.refunded
        == b.pool_says,
        "token supply == minted - burned": b.supply == b.minted - b.burned,
        "written off == sum of DefaulterRemoved": b.written_off == t.writtenOff,
        "paid out <= queued payouts, fees <= fees due": (
            b.claimant_paid <= b.queued and b.fee_paid <= b.fees_due
        ),
    }


@dataclass
class MemberState:
    """Each member's position at the end, read from the chain in batches."""

    members: list[str]
    owed: list[int]
    credit: list[int]
    balances: list[int]


def member_state(suite: Suite, chain: Chain) -> MemberState:
    members = sorted({e.args["member"] for e in chain.of("MemberJoined")})
    return MemberState(
        members,
        suite.pool.owed_each(members),
        suite.pool.credit_each(members),
        suite.token.balance_each(members),
    )


def member_problems(chain: Chain, r: Replay, b: Books, state: MemberState) -> list[str]:
    """Every member: charged == paid - refunded - credit + written off + owed; balance == transfers."""
    received: dict[str, int] = defaultdict(int)
    sent: dict[str, int] = defaultdict(int)
    for e in chain.of("Transfer"):
        received[e.args["to"]] += e.args["value"]
        sent[e.args["from"]] += e.args["value"]
    problems = []
    rows = zip(state.members, state.owed, state.credit, state.balances, strict=True)
    for m, owe, ahead, balance in rows:
        charged = r.charged.get(m, 0)
        accounted = r.paid.get(m, 0) - b.refunds.get(m, 0) - ahead + r.written_off.get(m, 0) + owe
        if charged != accounted:
            problems.append(f"{m}: charged {charged}, paid-refunded-credit+written off+owed {accounted}")
        if balance != received[m] - sent[m]:
            problems.append(f"{m}: balance {balance}, transfers say {received[m] - sent[m]}")
    return problems


def period_problems(chain: Chain, r: Replay) -> list[str]:
    """Every close: levy + carried surplus - carried shortfall - written off since - payouts - fees
    == the surplus minus the shortfall it carries; and the number sharing matches the replay."""
    problems = list(r.sharing_mismatch)
    prev_surplus = prev_shortfall = written_between = 0
    written = iter(chain.of("DefaulterRemoved"))
    pending = next(written, None)
    for e in chain.of("PeriodClosed"):
        while pending is not None and (pending.block, *pending.order) < (e.block, *e.order):
            written_between += pending.args["writtenOff"]
            pending = next(written, None)
        a = e.args
        levy = a["share"] * a["sharing"]
        left = levy + prev_surplus - prev_shortfall - written_between - a["payouts"] - a["fees"]
        if left != a["surplus"] - a["shortfall"]:
            problems.append(
                f"period {a['period']}: levy leaves {left}, chain carries "
                f"{a['surplus']} surplus / {a['shortfall']} shortfall"
            )
        prev_surplus, prev_shortfall, written_between = a["surplus"], a["shortfall"], 0
    return problems


def reconcile(w3: Web3, chain: Chain) -> dict:
    """Every fen accounted for; `reconciled` only when every check holds."""
    suite = Suite(w3, chain.deployment)
    r = replay(chain)
    b = books(suite, chain)
    state = member_state(suite, chain)
    by_member = member_problems(chain, r, b, state)
    by_period = period_problems(chain, r)
    checks = pool_checks(b) | {
        "every member: charged == paid - refunded - credit + written off + owed; balance == transfers": (
            not by_member
        ),
        "every close: levy == payouts + fees + carried surplus/shortfall; sharing count": not by_period,
    }
    return {
        "reconciled": all(checks.values()),
        "checks": checks,
        "problems": (by_member + by_period)[:PROBLEMS_SHOWN],
        "fen": {
            "minted": b.minted,
            "paid_in": b.share_paid,
            "paid_out": b.claimant_paid,
            "fees": b.fee_paid,
            "refunded": b.refunded,
            "credit_now": sum(state.credit),
            "pool_balance": b.pool_balance,
            "payouts_queued": b.queued,
            "payouts_outstanding": b.queued - b.claimant_paid,
            "fees_outstanding": b.fees_due - b.fee_paid,
            "written_off": b.written_off,
            "owed_now": sum(state.owed),
            "charged": sum(r.charged.values()),
        },
        "members_checked": len(state.members),
    }


def rule_checks(chain: Chain) -> dict:
    """The plan's rules, checked on what happened: each holds when its list of breaches is empty."""
    r = replay(chain)
    in_waiting = paid_in_waiting(chain)
    own_case = shared_own_case(chain, r)
    removed_sharing = removed_still_sharing(chain, r)
    return {
        "no_payout_in_waiting_period": in_waiting,
        "claimant_never_pays_towards_own_case": own_case,
        "removed_members_no_longer_share": removed_sharing,
        "held": not (in_waiting or own_case or removed_sharing),
        "accepted_claims_checked": len(chain.of("ClaimAccepted")),
        "removals_checked": len(chain.of("DefaulterRemoved")),
    }


def paid_in_waiting(chain: Chain) -> list[str]:
    joined = {e.args["member"]: e.args["waitingEndsAt"] for e in chain.of("MemberJoined")}
    submitted = {e.args["claimId"]: e for e in chain.of("ClaimSubmitted")}
    out = []
    for e in chain.of("ClaimAccepted"):
        s = submitted[e.args["claimId"]]
        if not s.args["accident"] and s.ts < joined[s.args["claimant"]]:
            out.append(f"claim {e.args['claimId']} accepted, filed inside the waiting period")
    return out


def shared_own_case(chain: Chain, r: Replay) -> list[str]:
    closes = chain.of("PeriodClosed")
    out = []
    for e in chain.of("PayoutQueued"):
        settle = next((c for c in closes if (c.block, *c.order) > (e.block, *e.order)), None)
        if settle is not None and e.args["claimant"] in r.counted_at[settle.args["period"]]:
            out.append(f"claimant of claim {e.args['claimId']} shared in the close that settled it")
    return out


def removed_still_sharing(chain: Chain, r: Replay) -> list[str]:
    closes = chain.of("PeriodClosed")
    out = []
    for e in chain.of("DefaulterRemoved"):
        m = e.args["member"]
        for c in closes:
            if (c.block, *c.order) > (e.block, *e.order) and m in r.counted_at[c.args["period"]]:
                out.append(f"{m} removed, still sharing in period {c.args['period']}")
        if any(p.args["member"] == m and p.block > e.block for p in chain.of("SharePaid")):
            out.append(f"{m} removed, still paying")
    return out
