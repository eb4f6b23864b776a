"""Random lives of a small plan (joins, claims, objections, votes, settlements, payments ahead and
behind, defaults, exits, refunds) against four promises: the pool holds exactly paid in - paid out -
fees - refunds, to the fen; every member was charged exactly the shares of the periods they shared;
no claimant paid towards their own case; payouts never exceed the shares levied."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from consortium.client import DAY, MAX_ALLOWANCE, ContractRefusal, Rules, Suite
from tests.contracts.world import ROOT, TEST_RULES, World, make_world

RULES = Rules(**{**TEST_RULES.to_dict(), "min_votes": 2, "waiting_period": 20 * DAY, "juror_delay": 5 * DAY})
PEOPLE = 8


class Base:
    """Deployed once: candidates funded, minted (two of them poor) and qualified as jurors."""

    def __init__(self):
        self.world: World = make_world(RULES)
        w = self.world
        self.people: list[Suite] = [w.admin.as_(w.new_key()) for _ in range(PEOPLE)]
        self.tickets = []
        far = w.now() + 50 * 365 * DAY
        for i, p in enumerate(self.people):
            w.treasurer.token.mint(p.address, 5_000 if i < 2 else 400_000)
            a, sig = w.attest(p.address, cover_ends_in=50 * 365 * DAY, expiry=far)
            self.tickets.append((a, sig))
        w.registrar.jury.qualify([p.address for p in self.people])
        self.snapshot = w.tester.take_snapshot()


_BASE: Base | None = None
STATS: list[tuple[int, ...]] = []  # per example: periods, claims, accepted, removed, joined, refunded


def base() -> Base:
    global _BASE
    if _BASE is None:
        _BASE = Base()
    return _BASE


def attempt(fn, *allowed: str):
    """Runs an action; a refusal is fine only if it is one the rules allow here."""
    try:
        return fn()
    except ContractRefusal as refusal:
        assert refusal.name in allowed, f"unexpected refusal {refusal}"
        return None


class Plan(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        b = base()
        self.w = b.world
        self.w.tester.revert_to_snapshot(b.snapshot)
        self.people = b.people
        self.tickets = b.tickets
        for s in [*self.people, self.w.operator, self.w.investigator, self.w.enroller]:
            s.tx.resync()
        self.pool = self.w.operator.pool
        self.shares: list[int] = []  # share of each closed period
        self.entry: dict[str, int] = {}  # closed periods when they started sharing
        self.end: dict[str, tuple[str, int]] = {}  # ("now", closed count) or ("close", period)
        self.paid: dict[str, int] = {}
        self.refunded: dict[str, int] = {}
        self.written_off: dict[str, int] = {}
        self.accepted_at: dict[str, int] = {}  # claimant -> closed count when their claim was accepted
        self.claims: list[int] = []

    # ---- helpers ----

    def closed(self) -> int:
        return len(self.shares)

    def track(self, receipt) -> None:
        if receipt is None:
            return
        p = self.pool
        for e in p.in_receipt(receipt, "SharePaid"):
            m = e["args"]["member"]
            self.paid[m] = self.paid.get(m, 0) + e["args"]["amount"]
        for e in p.in_receipt(receipt, "CreditRefunded"):
            m = e["args"]["member"]
            self.refunded[m] = self.refunded.get(m, 0) + e["args"]["amount"]
        for e in p.in_receipt(receipt, "DefaulterRemoved"):
            m = e["args"]["member"]
            self.written_off[m] = e["args"]["writtenOff"]
            kind, at = self.end.get(m, ("", 0))
            if kind == "" or (kind == "close" and at >= self.closed()):  # was still sharing
                self.end[m] = ("now", self.closed())
        for e in p.in_receipt(receipt, "SharingStopped"):
            m, period, at_close = e["args"]["member"], e["args"]["period"], e["args"]["atClose"]
            self.end[m] = ("close", period) if at_close else ("now", self.closed())
        for e in self.w.operator.claims.in_receipt(receipt, "ClaimAccepted"):
            self.accepted_at[e["args"]["claimant"]] = self.closed()
        for e in p.in_receipt(receipt, "PeriodClosed"):
            assert e["args"]["period"] == self.closed()
            self.shares.append(e["args"]["share"])

    def act(self, fn, *allowed):
        self.track(attempt(fn, *allowed))

    def pick(self, i: int) -> Suite:
        return self.people[i % PEOPLE]

    def claim_id(self, i: int) -> int | None:
        return self.claims[i % len(self.claims)] if self.claims else None

    # ---- rules ----

    @initialize(who=st.lists(st.integers(0, PEOPLE - 1), min_size=4, max_size=PEOPLE, unique=True))
    def founders(self, who):
        for i in who:
            self.join(i)
        self.w.advance(RULES.waiting_period + 1)  # founders are covered; later joiners wait

    @rule(i=st.integers(0, PEOPLE - 1))
    def join(self, i):
        p = self.pick(i)
        if p.address in self.entry:
            return
        a, sig = self.tickets[i]
        self.track(p.membership.join(a, sig, MAX_ALLOWANCE))
        self.entry[p.address] = self.closed()

    @rule(days=st.integers(1, 30))
    def advance(self, days):
        self.w.advance(days * DAY)

    @rule(i=st.integers(0, PEOPLE - 1), accident=st.booleans(), illness=st.integers(1, 100))
    def submit(self, i, accident, illness):
        p = self.pick(i)
        allowed = ("NotInPlan", "ClaimAlreadyOpen", "SharesOverdue", "CoverExpired")
        receipt = attempt(lambda: p.claims.send("submit", illness, accident, ROOT), *allowed)
        if receipt is not None:
            self.claims.append(p.claims.in_receipt(receipt, "ClaimSubmitted")[0]["args"]["claimId"])
            self.track(receipt)

    @rule(i=st.integers(0, PEOPLE - 1), accident=st.booleans(), objection=st.integers(0, 2 * PEOPLE))
    def claim_lifecycle(self, i, accident, objection):
        """A claim's usual road in one step: submit, approve, notice (maybe an objection), finalize."""
        self.submit(i, accident, 1 + i)
        cid = self.claims[-1] if self.claims else None
        if cid is None or self.w.operator.claims.status(cid) != "UnderReview":
            return
        self.review(len(self.claims) - 1, True)
        if objection < PEOPLE:
            self.object(len(self.claims) - 1, objection)
            self.review(len(self.claims) - 1, True)  # reviewed again after the objection
        self.finalize(len(self.claims) - 1, True)

    @rule(c=st.integers(0, 50), approve=st.booleans())
    def review(self, c, approve):
        cid = self.claim_id(c)
        if cid is not None:
            inv = self.w.investigator.claims
            self.act(lambda: (inv.approve if approve else inv.reject)(cid, b"\x22" * 32), "WrongStatus")

    @rule(c=st.integers(0, 50), i=st.integers(0, PEOPLE - 1))
    def object(self, c, i):
        cid = self.claim_id(c)
        if cid is not None:
            allowed = (
                "WrongStatus",
                "NoticeOver",
                "ClaimantCannotObject",
                "StillInWaitingPeriod",
                "NotAnActiveMember",
                "AlreadyObjected",
            )
            self.act(lambda: self.pick(i).claims.object(cid, b"\x33" * 32), *allowed)

    @rule(c=st.integers(0, 50), wait=st.booleans())
    def finalize(self, c, wait):
        cid = self.claim_id(c)
        if cid is not None:
            if wait:
                self.w.advance(self.w.operator.claims.claim(cid).deadline - self.w.now())
            self.act(lambda: self.w.operator.claims.finalize(cid), "WrongStatus", "NoticeNotOver")

    @rule(c=st.integers(0, 50), votes=st.lists(st.booleans(), max_size=3), start=st.integers(0, PEOPLE - 1))
    def dispute_and_vote(self, c, votes, start):
        cid = self.claim_id(c)
        if cid is None:
            return
        claims = self.w.operator.claims
        claimant = next(p for p in self.people if p.address == claims.claim(cid).claimant)
        self.act(lambda: claimant.claims.dispute(cid), "WrongStatus", "DisputeWindowClosed")
        if claims.status(cid) != "Disputed":
            return
        refusals = ("ClaimantCannotVote", "JurorNotActiveMember", "AlreadyCommitted", "JurorNotYetEligible")
        jurors = [self.pick(start + k) for k in range(len(votes))]
        salts = [
            attempt(lambda j=j, v=v: j.jury.commit(cid, v), *refusals)
            for j, v in zip(jurors, votes, strict=True)
        ]
        self.w.advance(self.w.operator.jury.case(cid).commitEndsAt - self.w.now())
        for j, v, salt in zip(jurors, votes, salts, strict=True):
            if salt is not None:
                j.jury.reveal(cid, v, salt)
        self.w.advance(self.w.operator.jury.case(cid).revealEndsAt - self.w.now())
        self.act(lambda: claims.resolve_dispute(cid))

    @rule()
    def close_period(self):
        self.act(self.pool.close_period, "PeriodNotOver")

    @rule(
        debits=st.lists(st.booleans(), min_size=PEOPLE, max_size=PEOPLE),
        ahead=st.sampled_from([0, 0, 20_000, 60_000]),
        remove=st.booleans(),
    )
    def settle(self, debits, ahead, remove):
        """The operator's fortnight: wait for the period's end, close it, auto-debit (topping members
        up `ahead`), pay out."""
        self.w.advance(self.pool.period_end(self.pool.open_period()) - self.w.now())
        self.close_period()
        self.act(
            lambda: self.pool.collect(
                [p.address for p, d in zip(self.people, debits, strict=True) if d], ahead
            )
        )
        self.disburse(3)
        for p in self.people:  # whoever stopped sharing gets their credit back
            self.act(lambda p=p: self.pool.refund(p.address), "StillSharing", "NoCredit")
        if remove:
            self.remove_defaulters(True)

    @rule(i=st.integers(0, PEOPLE - 1))
    def pay(self, i):
        self.act(lambda: self.pick(i).pool.pay(), "NothingOwed", "ERC20InsufficientBalance")

    @rule(i=st.integers(0, PEOPLE - 1), amount=st.integers(1, 40_000))
    def prepay(self, i, amount):
        self.act(lambda: self.pick(i).pool.prepay(amount), "NotSharing", "ERC20InsufficientBalance")

    @rule(after_grace=st.booleans())
    def remove_defaulters(self, after_grace):
        if after_grace:
            self.w.advance(RULES.grace_period)
        self.act(lambda: self.pool.remove_defaulters([p.address for p in self.people]))

    @rule(i=st.integers(0, PEOPLE - 1))
    def exit(self, i):
        self.act(lambda: self.pick(i).membership.exit(), "NotAMember", "NotInPlan")

    @rule(n=st.integers(1, 3))
    def disburse(self, n):
        self.act(lambda: self.pool.disburse(n))

    def teardown(self):
        STATS.append(
            (
                self.closed(),
                len(self.claims),
                len(self.accepted_at),
                len(self.written_off),
                len(self.entry),
                len(self.refunded),
            )
        )

    # ---- promises ----

    @invariant()
    def books_balance_to_the_fen(self):
        t = self.pool.totals()
        held = self.w.operator.token.balance_of(self.pool.address)
        assert held == t.paidIn - t.paidOut - t.feesPaid - t.refunded
        assert t.paidIn == sum(self.paid.values())
        assert t.refunded == sum(self.refunded.values())

    @invariant()
    def payouts_never_exceed_the_shares_levied(self):
        t = self.pool.totals()
        assert t.paidOut + t.feesPaid <= t.levied

    def charged(self, m: str) -> int:
        """What the member's payments say they were charged: paid, less refunds and credit left,
        plus what is still owed or was written off."""
        paid = self.paid.get(m, 0) - self.refunded.get(m, 0) - self.pool.credit(m)
        return paid + self.pool.owed(m) + self.written_off.get(m, 0)

    @invariant()
    def everyone_charged_exactly_their_shares(self):
        for m, start in self.entry.items():
            kind, at = self.end.get(m, ("open", self.closed()))
            stop = at if kind != "close" else min(at + 1, self.closed())
            expected = sum(self.shares[start:stop])
            assert self.charged(m) == expected, (m, self.charged(m), expected)

    @invariant()
    def no_claimant_paid_towards_their_own_case(self):
        for m, accepted in self.accepted_at.items():
            kind, at = self.end[m]
            assert kind == "now" and at <= accepted
            assert self.charged(m) == sum(self.shares[self.entry[m] : accepted])


Plan.TestCase.settings = settings(
    max_examples=4,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
seed(6)(Plan)  # the same lives every run, as derandomize gave, chosen to reach closes, payouts and removals


@pytest.mark.timeout(240)
def test_random_lives_keep_the_books_exact():
    Plan.TestCase().runTest()
    # the random lives must reach the interesting places, or the promises prove little
    assert (
        sum(s[0] for s in STATS) >= 6 and sum(s[2] for s in STATS) >= 2 and sum(s[3] for s in STATS) >= 1
    ), STATS
