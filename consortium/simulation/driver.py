"""The driver: drives the population through the plan on a running consortium, a step of three
simulated days at a time (five steps a period).

At each step the driver decides what is due as of that time, moves the consortium's clock to it
(the network's timekeeper, `hubao net init --movable-clock`) and only then sends: members
join, claim, stop paying or leave, each signing their own transactions; investigators, the juror
registrar and the operator act through the operator code path (consortium/operator). A step's
transactions all land within the step, and nothing the driver sends may need to land before a
deadline that falls inside the step, so what happens in which period depends on the seed alone, not
on how fast the chain runs: same seed, same start, same report. Nothing here keeps the books: the
report recomputes everything from chain events afterwards.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from web3 import Web3

from consortium.client import (
    DAY,
    MAX_ALLOWANCE,
    Attestation,
    ChainClock,
    ContractRefusal,
    Deployment,
    Params,
    Roles,
    Suite,
    TransactionError,
    Transactor,
    deploy_suite,
    sign_permit,
    vote_commitment,
)
from consortium.evidence.bundle import Bundle
from consortium.evidence.client import EvidenceClient
from consortium.evidence.envelope import public_key_of
from consortium.evidence.store import EvidenceError
from consortium.operator import enrollment, settlement
from consortium.operator import jurors as operator_jurors
from consortium.operator import review as operator_review
from consortium.operator.enrollment import Applicant
from consortium.operator.reads import read_many
from consortium.simulation.chain import Batch, Key, NetworkAccounts, fetch_nonces
from consortium.simulation.params import SimConfig, simulation_rules
from consortium.simulation.population import YEAR, ClaimPlan, Person, draw_population, plan_claim
from consortium.wallet.attestation import attestation_from_json

GAS = {  # limits, not costs: a block is filled by the sum of limits, so keep them near the real use
    "join": 260_000,
    "submit": 350_000,
    "object": 150_000,
    "dispute": 350_000,
    "commit": 150_000,
    "reveal": 150_000,
    "exit": 250_000,
    "revoke": 80_000,
}
RETRY_AFTER = 3 * DAY  # a failed debit is retried, then removed after the grace period (domain.md)
REVIEW_DELAY = DAY
# The driver's tick. Every transaction of a step lands within it (minutes of chain time), so a
# longer step costs no fidelity in periods of 15 days, and each step costs a clock move and a
# block or two: three days is five steps a period and a third of the blocks of daily steps.
STEP = 3 * DAY


@dataclass
class Stats:
    """Live counters for the progress bar (the report's figures come from the chain)."""

    txs: int = 0
    failed: int = 0
    claims: int = 0
    joined: int = 0
    periods_closed: int = 0
    evidence_filed: int = 0
    clock_moves: int = 0
    overruns: int = 0  # steps whose transactions were still landing when the next step began
    refusals: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # the first few failures, in words

    def count(self, results: list) -> list:
        for r in results:
            self.txs += 1
            if isinstance(r, ContractRefusal | TransactionError):
                self.failed += 1
                name = getattr(r, "name", type(r).__name__)
                self.refusals[name] = self.refusals.get(name, 0) + 1
                if len(self.samples) < 10:
                    self.samples.append(str(r))
        return results


class Driver:
    def __init__(self, w3: Web3, accounts: NetworkAccounts, config: SimConfig, out: Path, on_tick=None):
        self.w3 = w3
        self.accounts = accounts
        self.config = config
        self.out = Path(out)
        self.on_tick = on_tick or (lambda driver, now: None)
        self.stats = Stats()
        self.rules = simulation_rules(config)
        self.periods = config.months * 2  # collections twice a month
        self.horizon = self.periods * self.rules.period_length
        self.jurors_eligible_at = 0
        self.queue: list[tuple[int, int, str, int]] = []  # (time, seq, what, person)
        self._seq = itertools.count()
        self.claims: dict[int, ClaimPlan] = {}
        self.failed_debits: dict[str, int] = {}  # member -> when the debit first failed
        self.removal_due: int | None = None
        self.retry_due: int | None = None
        self.collect_later = False
        self.deployment: Deployment | None = None
        self.block = 0
        self.now = 0  # the step's time: what is due is judged as of it
        self.to_fund: list[str] = []  # joiners the treasurer funds with the step's transactions
        self.staff_pending: list = []  # the step's reviews and finalizations, awaited with the rest
        self.clock_at = 0  # where the consortium's clock was last moved to
        self.stamped = True  # and whether a block already carries that time

    # ---- set-up ----

    def deploy(self) -> Deployment:
        """The suite with the simulation's rules; one organisation per admin; staff roles spread
        over the organisations so no single key holds everything."""
        admins = [Key(self.w3, k).address for k in self.accounts.admins]
        operator = Key(self.w3, self.accounts.operator).address
        n = len(admins)
        roles = Roles(
            organisations=tuple(admins),
            operator=operator,
            enroller=admins[0],
            investigator=admins[1 % n],
            juror_registrar=admins[2 % n],
            treasurer=admins[3 % n],
            treasury=operator,
        )
        self.clock = ChainClock(self.w3, self.accounts.operator)  # the operator is the timekeeper
        if not self.clock.movable:
            raise ValueError(
                "the network's clock cannot be moved: create it with `hubao net init --movable-clock`"
            )
        self.clock.advance_to(self._start_time())
        self.deployment = deploy_suite(
            self.w3, self.accounts.deployer, Params(self.rules, roles), self.out / "deployment.json"
        )
        return self.deployment

    def _start_time(self) -> int:
        """Midnight (UTC) of the configured start date, by default the next 1 January: a fixed
        calendar start makes ages, birthdays and dates the same in every run of a seed."""
        latest = self.w3.eth.get_block("latest")["timestamp"]
        if self.config.start:
            start = datetime.combine(date.fromisoformat(self.config.start), datetime.min.time(), UTC)
            if start.timestamp() <= latest:
                raise ValueError(
                    f"the network's clock is already at {first_day(latest)}: give a --start after that"
                )
        else:
            start = datetime(first_day(latest).year + 1, 1, 1, tzinfo=UTC)
        return int(start.timestamp())

    def _staff(self) -> None:
        d = self.deployment
        admins = self.accounts.admins
        n = len(admins)
        self.read = Suite(self.w3, d)
        self.operator = Suite(self.w3, d, self.accounts.operator)
        self.clock.tx = self.operator.tx  # one signer per account, so its nonces stay in order
        self.enroller = Suite(self.w3, d, admins[0])
        self.investigator = Suite(self.w3, d, admins[1 % n])
        self.registrar = Suite(self.w3, d, admins[2 % n])
        self.treasurer = Suite(self.w3, d, admins[3 % n])
        self.evidence = EvidenceClient(self.w3)
        self.investigator_key = public_key_of(bytes(self.investigator.tx.account.key))
        self.fn = {
            name: getattr(self.read, name).contract.functions
            for name in ("token", "membership", "claims", "jury", "pool")
        }

    # ---- the run ----

    def run(self) -> dict:
        if self.deployment is None:
            self.deploy()
        self._staff()
        self.start = self.deployment.start
        self.people = draw_population(
            self.config, self.accounts.users, self.horizon, self.rules.waiting_period
        )
        nonces = fetch_nonces(self.w3, [p.address for p in self.people])
        self.signers = {p.index: Key(self.w3, p.key, n) for p, n in zip(self.people, nonces, strict=True)}
        self.jurors: list[Person] = []
        (self.out / "enroller-registry.json").unlink(missing_ok=True)  # this run's deployment only
        self.registry = enrollment.Registry(self.out / "enroller-registry.json")
        self.reports = self.out / "reports"
        self.reports.mkdir(parents=True, exist_ok=True)
        first_block = self.w3.eth.block_number
        t0 = time.monotonic()
        self._launch()
        self.last_period = self.periods
        for p in self.people[self.config.members :]:
            self._schedule(self.start + p.join_offset, "join", p)
        while not self._finished():
            self._tick(self.now + STEP)
            self.on_tick(self, self.now)
        return {
            "first_block": first_block,
            "plan_start": self.start,
            "last_block": self.w3.eth.block_number,
            "wall_seconds": round(time.monotonic() - t0, 1),
            "driver_txs": self.stats.txs,
            "driver_failed": self.stats.failed,
            "evidence_bundles_filed": self.stats.evidence_filed,
            "clock_moves": self.stats.clock_moves,
            "step_overruns": self.stats.overruns,
            "refusals": dict(sorted(self.stats.refusals.items())),
            "failure_samples": self.stats.samples,
        }

    def _finished(self) -> bool:
        """The last period is closed and its collection run to the end: retried, and whoever still
        had not paid after the grace period removed."""
        if self.stats.periods_closed < self.last_period:
            return False
        return self.retry_due is None and (self.removal_due is None or not self.failed_debits)

    def _launch(self) -> None:
        """On the first day the founding cohort joins (in as few blocks as the gas limit allows)
        and the first jurors pass their exam; the simulated months count from that day."""
        self.now = self.clock_at = self.start  # deploying moved the clock here
        founders = self.people[: self.config.members]
        batch = Batch(self.w3)
        self._send(batch, self._joins(founders, self.now, batch))
        self._qualify_jurors()

    def _tick(self, now: int) -> None:
        self.now = now
        self._settle(now)
        batch = Batch(self.w3)
        actions = self._members(now, batch)
        self._claims_step(now, batch)
        aged = [p for p in self.people if p.in_plan and p.cover_ends_at <= now and p.claim_id is None]
        self._send(batch, actions, aged)

    def _send(self, batch: Batch, actions: list, aged: list[Person] = ()) -> None:
        """The step's transactions, in flight together: the staff's reviews and finalizations, the
        treasurer's deposits for joiners (money entering the platform), the operator ending the
        cover of those who turned 60 (operator code), and the members' own batch. They do not
        depend on each other: what a member sends is about claims decided at earlier steps."""
        if not (len(batch) or aged or self.to_fund or self.staff_pending):
            return
        self._ready(stamped=False)
        deposit = self.rules.year_cap * -(-self.config.months // 12)
        funding = settlement.fund_many(self.treasurer, self.to_fund, deposit, wait=False)
        self.to_fund = []
        ending = enrollment.age_out(self.operator, [p.address for p in aged], now=self.now, wait=False)
        results = self.stats.count(batch.run(timeout=900))
        self._after_members(actions, results)
        self.stats.count(Transactor.wait_all(funding + self.staff_pending, strict=False))
        self.staff_pending = []
        ended = self.stats.count(Transactor.wait_all(ending["pending"], strict=False))
        done = {m for m, r in zip(ending["due"], ended, strict=True) if not isinstance(r, Exception)}
        for p in aged:
            if p.address in done:
                p.out = "aged"

    def _ready(self, stamped: bool = True) -> None:
        """Move the consortium's clock to the step's time before its first transaction is sent (a
        step with nothing to send moves nothing). `stamped`: also wait for a block of that time, for
        what reads the chain's time (estimates, `isDefaulter`); members' batches need not. A clock
        already past the step means the last one was still landing: the run goes on, counted as an
        overrun, but is no longer reproducible."""
        if self.clock_at >= self.now and (self.stamped or not stamped):
            return
        latest = self.w3.eth.get_block("latest")
        self.block = latest["number"]
        if self.clock_at < self.now:
            self.stats.overruns += latest["timestamp"] > self.now
            self.stats.clock_moves += 1
            self.clock.advance_to(self.now, stamped=stamped)
        else:
            self.clock.wait_for(self.now)
        self.clock_at, self.stamped = self.now, stamped

    def _unclear(self, boundary: int) -> bool:
        """A rule's boundary inside this step: whether a transaction sent now lands before or after
        it depends on chain speed, so such actions wait for the next step."""
        return self.now < boundary < self.now + STEP

    def _schedule(self, at: int, what: str, person: Person) -> None:
        heapq.heappush(self.queue, (at, next(self._seq), what, person.index))

    # ---- members ----

    def _members(self, now: int, batch: Batch) -> list:
        joins, joiners = [], []
        while self.queue and self.queue[0][0] <= now:
            _, _, what, index = heapq.heappop(self.queue)
            p = self.people[index]
            signer = self.signers[index]
            if what == "join":
                joiners.append(p)
            elif not p.in_plan:
                continue
            elif what == "claim":
                if p.claim_id is not None:
                    continue
                if self._unclear(p.waiting_ends) or self._unclear(p.cover_ends_at):
                    self._schedule(now + STEP, "claim", p)
                    continue
                bundle = Bundle.of_named(
                    [
                        ("diagnosis.txt", f"patient {p.index}: illness {1 + p.rng.randrange(100)}".encode()),
                        ("hospital-record.txt", p.rng.randbytes(64)),
                    ]
                )
                illness = 1 + p.rng.randrange(100)
                self._file_evidence(p, bundle)
                fn = self.fn["claims"].submit(illness, p.accident, bundle.root)
                joins.append((p, ("claim", batch.add(signer, fn, GAS["submit"], full=True))))
            elif what == "default":
                batch.add(signer, self.fn["token"].approve(self.read.pool.address, 0), GAS["revoke"])
            elif what == "exit" and p.claim_id is None:
                joins.append((p, ("exit", batch.add(signer, self.fn["membership"].exit(), GAS["exit"]))))
        return joins + self._joins(joiners, now, batch)

    def _joins(self, people: list[Person], now: int, batch: Batch) -> list:
        """The enroller attests everyone eligible through the operator's enrollment (one registry,
        batched reads), then each person joins as in `_join`."""
        applicants = [
            Applicant(p.address, f"ID{p.index:08d}", first_day(now - int(p.age * YEAR)), True) for p in people
        ]
        outcomes = enrollment.enroll_many(self.enroller, self.registry, applicants, YEAR, now=now)
        eligible = []
        for p, outcome in zip(people, outcomes, strict=True):
            attested = None if isinstance(outcome, enrollment.Ineligible) else attestation_from_json(outcome)
            if attested is None or attested[0].cover_ends_at < now + STEP:  # turns 60 before joining
                self.stats.refusals["ineligible"] = self.stats.refusals.get("ineligible", 0) + 1
            else:
                eligible.append((p, *attested))
        self.to_fund += [p.address for p, _, _ in eligible]  # the treasurer's deposit, sent with the step
        return [(p, self._join(p, a, sig, batch)) for p, a, sig in eligible]

    def _join(self, p: Person, a: Attestation, sig: bytes, batch: Batch):
        """The member joins with their attestation and a permit for auto-debit."""
        d = self.deployment
        signer = self.signers[p.index]
        permit = sign_permit(
            p.key,
            p.address,
            d.addresses["pool"],
            MAX_ALLOWANCE,
            0,
            a.expiry,
            d.chain_id,
            d.addresses["token"],
        )
        p.cover_ends_at = a.cover_ends_at
        return "join", batch.add(
            signer, self.fn["membership"].joinWithPermit(a.as_tuple(), sig, permit.as_tuple()), GAS["join"]
        )

    def _file_evidence(self, p: Person, bundle: Bundle) -> None:
        """The files go to the consortium's evidence store, sealed for the claimant and the
        investigators; only their Merkle root goes on chain."""
        readers = [public_key_of(bytes(self.signers[p.index].account.key)), self.investigator_key]
        try:
            self.evidence.put(bundle.root, bundle.seal_for(readers), p.key)
            self.stats.evidence_filed += 1
        except EvidenceError as exc:
            self.stats.refusals["evidence"] = self.stats.refusals.get("evidence", 0) + 1
            if len(self.stats.samples) < 10:
                self.stats.samples.append(str(exc))

    def _after_members(self, actions: list, results: list) -> None:
        for p, (what, i) in actions:
            r = results[i]
            if isinstance(r, Exception):
                continue
            if what == "join":
                p.joined_at = self.now  # the step's time: what follows is scheduled from it
                p.waiting_ends = self._block_time(r.block) + self.rules.waiting_period  # the chain's
                self.stats.joined += 1
                for kind, after in (
                    ("claim", p.claim_after),
                    ("default", p.default_after),
                    ("exit", p.exit_after),
                ):
                    if after is not None and after < self.horizon:
                        self._schedule(p.joined_at + after, kind, p)
            elif what == "claim":
                event = self.read.claims.in_receipt(r, "ClaimSubmitted")[0]["args"]
                self.stats.claims += 1
                refused = self.read.claims.in_receipt(r, "ClaimRefusedInWaitingPeriod")
                if refused:
                    p.out = "ended in waiting period"
                    continue
                p.claim_id = event["claimId"]
                self.claims[p.claim_id] = plan_claim(self.config, p.claim_id, p)
            else:
                p.out = what

    def _block_time(self, number: int) -> int:
        cache = self.__dict__.setdefault("_times", {})
        if number not in cache:
            cache[number] = self.w3.eth.get_block(number)["timestamp"]
        return cache[number]

    def _qualify_jurors(self) -> None:
        rng = random.Random(f"{self.config.seed}:jurors")
        founders = [p for p in self.people[: self.config.members] if p.in_plan]
        self.jurors = rng.sample(founders, min(self.config.jurors, len(founders)))
        qualified = operator_jurors.qualify(self.registrar, [p.address for p in self.jurors])
        self.jurors_eligible_at = qualified["eligible_at"] or 0
        self.stats.txs += 1

    # ---- claims ----

    def _claims_step(self, now: int, batch: Batch) -> None:
        due = False
        plans = [plan for plan in self.claims.values() if not plan.done]
        fn = self.fn["claims"]
        reviews = []
        for plan, c in zip(plans, read_many(self.w3, [fn.claim(p.claim_id) for p in plans]), strict=True):
            status = self.read.claims.STATUSES[c.status]
            if status == "UnderReview":
                if now >= c.submittedAt + REVIEW_DELAY:
                    reviews.append(plan)
            elif status == "InNotice":
                if c.deadline <= now:
                    due = True
                elif plan.objected and not plan.objection_sent and now + STEP <= c.deadline:
                    objector = self._objector(plan, now)
                    if objector is not None:
                        evidence = Bundle.of_named(
                            [("objection.txt", f"claim {plan.claim_id} is false".encode())]
                        )
                        batch.add(
                            self.signers[objector.index],
                            self.fn["claims"].object(plan.claim_id, evidence.root),
                            GAS["object"],
                        )
                        plan.objection_sent = True
            elif status == "Rejected":
                if plan.disputes and not plan.dispute_sent and now + STEP <= c.deadline:
                    batch.add(
                        self.signers[plan.person.index],
                        self.fn["claims"].dispute(plan.claim_id),
                        GAS["dispute"],
                    )
                    plan.dispute_sent = True
                elif not plan.disputes or now >= c.deadline:
                    self._close(plan)
            elif status == "Disputed":
                due |= self._jury(plan, now, batch)
            else:  # Accepted, Denied, RefusedInWaitingPeriod, Lapsed
                self._close(plan)
        if reviews:
            self._ready(stamped=False)
            self._decide(reviews)
        if due:
            self._ready()  # finalize's estimate reads the chain's time
            finalizing = settlement.finalize_due(self.operator, now=now, wait=False, ids=self._open_claims())
            self.staff_pending += finalizing["pending"]

    def _open_claims(self) -> list[int]:
        return [claim_id for claim_id, plan in self.claims.items() if not plan.done]

    def _close(self, plan: ClaimPlan) -> None:
        plan.done = True
        status = self.read.claims.status(plan.claim_id)
        plan.person.claim_id = None
        if status == "Accepted":
            plan.person.out = "paid out"

    def _decide(self, plans: list[ClaimPlan]) -> None:
        """The investigator's decisions of the step, sent together through the operator's review."""
        decisions = []
        for plan in plans:
            approve = plan.decision()
            report = self.reports / f"claim-{plan.claim_id}-{plan.decided}.txt"
            verdict = "approved" if approve else "rejected"
            report.write_text(f"claim {plan.claim_id}: {verdict} after review {plan.decided + 1}\n")
            decisions.append((plan.claim_id, approve, report))
            plan.decided += 1
        try:
            self.staff_pending += operator_review.decide_many(self.investigator, decisions, wait=False)
        except ContractRefusal as exc:  # refused at its estimate: counted, as a landed refusal is
            self.stats.count([exc])

    def _objector(self, plan: ClaimPlan, now: int) -> Person | None:
        candidates = [
            p
            for p in self.people
            if p.in_plan and p is not plan.person and p.waiting_ends <= now and p.claim_id is None
        ]
        return plan.rng.choice(candidates) if candidates else None

    def _jury(self, plan: ClaimPlan, now: int, batch: Batch) -> bool:
        case = self.read.jury.case(plan.claim_id)
        if now >= case.revealEndsAt:
            return True
        if now + STEP <= case.commitEndsAt:
            for juror in self.jurors:
                if juror.address in plan.votes or juror is plan.person or not juror.in_plan:
                    continue
                if now < self.jurors_eligible_at or juror.waiting_ends > now:
                    continue  # not yet past the exam delay, or not yet an active member
                rng = random.Random(f"{self.config.seed}:vote:{plan.claim_id}:{juror.index}:{case.extended}")
                if rng.random() >= self.config.juror_turnout:
                    plan.votes[juror.address] = None  # stays home this round
                    continue
                in_favour = plan.vote(rng)
                salt = rng.randbytes(32)
                commitment = vote_commitment(plan.claim_id, juror.address, in_favour, salt)
                batch.add(
                    self.signers[juror.index],
                    self.fn["jury"].commit(plan.claim_id, commitment),
                    GAS["commit"],
                )
                plan.votes[juror.address] = [in_favour, salt, False, juror]
        elif case.commitEndsAt <= now and now + STEP <= case.revealEndsAt:
            for vote in plan.votes.values():
                if vote is None or vote[2]:
                    continue
                in_favour, salt, _, juror = vote
                batch.add(
                    self.signers[juror.index],
                    self.fn["jury"].reveal(plan.claim_id, in_favour, salt),
                    GAS["reveal"],
                )
                vote[2] = True
            if case.extended:  # a second round: those who stayed home may vote now
                for address in [a for a, v in plan.votes.items() if v is None]:
                    del plan.votes[address]
        return False

    # ---- the operator's settlement ----

    def _settle(self, now: int) -> None:
        pool = self.read.pool
        period = pool.open_period()
        if period < self.last_period and pool.period_end(period) <= now:
            self._ready()
            settlement.finalize_due(self.operator, now=now, ids=self._open_claims())
            closed = settlement.close_periods(self.operator, before=self.last_period, now=now)
            self.stats.txs += 1 + len(closed)
            self.stats.periods_closed = pool.open_period()
            shared = closed and any(c["share"] for c in closed)
            if shared or self.failed_debits:
                self._collect(
                    [p.address for p in self.people if p.joined_at is not None and p.out != "removed"]
                )
            if closed:
                due_at = pool.period(self.stats.periods_closed - 1).dueAt  # the close's own clock
                self.retry_due = due_at - self.rules.grace_period + RETRY_AFTER
                self.removal_due = due_at + 1
        elif self.retry_due is not None and now >= self.retry_due:
            self._ready()
            self.retry_due = None
            self._collect(list(self.failed_debits))
        elif self.removal_due is not None and now >= self.removal_due and self.failed_debits:
            self._ready()
            self.removal_due = None
            removed = settlement.remove_defaulters(self.operator, who=list(self.failed_debits))
            self.stats.txs += 1 if removed else 0
            gone = set(removed)
            for p in self.people:
                if p.address in gone:
                    p.out = "removed"
            self.failed_debits = {m: t for m, t in self.failed_debits.items() if m not in gone}

    def _collect(self, members: list[str]) -> None:
        """The operator's auto-debit of whoever owes, topping them up a few periods ahead; then pay
        out and refund leavers' unused credit."""
        if not members:
            return
        result = settlement.collect(self.operator, members)
        self.stats.txs += -(-result["owing"] // settlement.COLLECT_BATCH)
        self.failed_debits = {m: self.failed_debits.get(m, self.now) for m in result["failed"]}
        settlement.disburse(self.operator)
        self.stats.txs += 1
        leavers = [p.address for p in self.people if p.joined_at is not None and p.out and not p.refunded]
        if leavers:
            result = settlement.refund(self.operator, leavers)
            self.stats.txs += len(result["refunded"])
            done = set(result["settled"])
            for p in self.people:
                if p.address in done:
                    p.refunded = True


def first_day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()
