"""The public notice board: cases under notice, recent decisions and every closed period, from the
suite's events and views. What is paid and why, never who: no claimant or objector address."""

from __future__ import annotations

from collections import Counter

from consortium.client import Suite
from consortium.wallet.words import day
from consortium.web.chain import Event
from consortium.web.illnesses import illness_name

RECENT = 25  # decisions shown
VERDICTS = ("none", "in favour", "against", "extended", "too few votes")


def tier_of(suite: Suite, amount: int) -> str:
    rules = suite.deployment.rules
    if amount == rules.cover_under_40:
        return "under 40"
    if amount == rules.cover_40_to_59:
        return "40 to 59"
    return "other"


def summary(suite: Suite) -> dict:
    """The plan's numbers now, in one JSON-RPC batch."""
    pool = suite.pool
    members, claims = suite.membership.count(), suite.claims.count()
    book, totals, balance, open_period = pool.book(), pool.totals(), pool.balance(), pool.open_period()
    rules = suite.deployment.rules
    return {
        "members": members,
        "sharing": book.sharing,
        "pool": balance,
        "paid_in": totals.paidIn,
        "paid_out": totals.paidOut,
        "fees": totals.feesPaid,
        "claims": claims,
        "open_period": open_period,
        "next_close": suite.deployment.start + (open_period + 1) * rules.period_length,
        "rules": rules,
    }


def notices(suite: Suite, events: list[Event]) -> list[dict]:
    """Claims under public notice now, soonest end first, with the objections each has had."""
    approved = list(dict.fromkeys(e.args["claimId"] for e in events if e.name == "ClaimApproved"))
    objections = Counter(e.args["claimId"] for e in events if e.name == "ClaimObjected")
    claims = suite.claims.claim_each(approved)
    rows = []
    for claim_id, c in zip(approved, claims, strict=True):
        if suite.claims.STATUSES[c.status] != "InNotice":
            continue
        rows.append(
            {
                "claim_id": claim_id,
                "illness": c.illness,
                "illness_name": illness_name(c.illness),
                "accident": c.accident,
                "tier": tier_of(suite, c.amount),
                "amount": c.amount,
                "evidence_root": "0x" + bytes(c.evidenceRoot).hex(),
                "submitted_at": c.submittedAt,
                "notice_ends_at": c.deadline,
                "objections": objections[claim_id],
            }
        )
    return sorted(rows, key=lambda r: (r["notice_ends_at"], r["claim_id"]))


def _what(e: Event) -> tuple[str, str]:
    """(kind, sentence) of one decision; kind picks its badge."""
    a = e.args
    table = {
        "ClaimSubmitted": lambda: ("reported", "case reported, evidence root on chain"),
        "ClaimRefusedInWaitingPeriod": lambda: ("refused", "refused: illness inside the waiting period"),
        "ClaimApproved": lambda: ("notice", "approved by the investigators, put under public notice"),
        "ClaimRejected": lambda: ("rejected", "rejected by the investigators; the claimant may dispute it"),
        "ClaimObjected": lambda: ("objected", "a member objected with evidence: back to review"),
        "ClaimDisputed": lambda: ("disputed", "disputed: before the review board"),
        "DisputeExtended": lambda: ("disputed", "too few votes: the review board votes once more"),
        "CaseClosedWith": lambda: (
            "jury",
            f"review board voted {VERDICTS[a['verdict']]}: {a['inFavour']} for, {a['against']} against",
        ),
        "ClaimAccepted": lambda: ("accepted", "accepted: payout queued for the next settlement"),
        "ClaimDenied": lambda: ("rejected", f"denied ({VERDICTS[a['verdict']]})"),
        "ClaimLapsed": lambda: ("refused", "lapsed: the membership ended before the decision"),
        "ClaimantPaid": lambda: ("paid", "paid to the claimant"),
    }
    return table[e.name]()


def decisions(events: list[Event], illnesses: dict[int, int]) -> list[dict]:
    """The latest steps of every claim, newest first (jury closes carry the revealed vote counts)."""
    shown = [e for e in events if e.contract in ("claims", "jury") or e.name == "ClaimantPaid"]
    shown = [e for e in shown if e.name not in ("CaseOpened", "CaseExtended")]
    rows = []
    for e in sorted(shown, key=lambda e: (e.block, e.index), reverse=True)[:RECENT]:
        kind, text = _what(e)
        claim_id = e.args["claimId"]
        code = illnesses.get(claim_id, 0)
        rows.append(
            {
                "time": e.time,
                "block": e.block,
                "claim_id": claim_id,
                "illness_name": illness_name(code) if code else "",
                "kind": kind,
                "text": text,
                "amount": e.args.get("amount"),
            }
        )
    return rows


def periods(suite: Suite, events: list[Event]) -> list[dict]:
    """Every closed period, oldest first."""
    rules, start = suite.deployment.rules, suite.deployment.start
    rows = []
    for e in events:
        if e.name != "PeriodClosed":
            continue
        a = e.args
        rows.append(
            {
                "period": a["period"],
                "ended": start + (a["period"] + 1) * rules.period_length,
                "closed_at": e.time,
                "due_at": a["dueAt"],
                "sharing": a["sharing"],
                "share": a["share"],
                "cases": a["cases"],
                "payouts": a["payouts"],
                "fees": a["fees"],
                "surplus": a["surplus"],
                "shortfall": a["shortfall"],
            }
        )
    return rows


def charts(rows: list[dict]) -> dict:
    """Chart.js data for the share per period and the members sharing, by the date a period ended."""
    labels = [day(r["ended"]) for r in rows]
    return {
        "share": {
            "type": "bar",
            "labels": labels,
            "series": [{"label": "share per member (RMB)", "data": [r["share"] / 100 for r in rows]}],
        },
        "members": {
            "type": "line",
            "labels": labels,
            "series": [{"label": "members sharing", "data": [r["sharing"] for r in rows]}],
        },
    }


def board(suite: Suite, events: list[Event]) -> dict:
    illnesses = {e.args["claimId"]: e.args["illness"] for e in events if e.name == "ClaimSubmitted"}
    closed = periods(suite, events)
    return {
        "summary": summary(suite),
        "notices": notices(suite, events),
        "decisions": decisions(events, illnesses),
        "periods": list(reversed(closed)),
        "charts": charts(closed),
    }
