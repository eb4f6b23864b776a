"""What the driver knows while it runs: the staff who act for the platform, the people and their
claims, the agenda of what each person does when, and live counters. Nothing here keeps the books:
the report recomputes everything from chain events afterwards."""

from __future__ import annotations

import heapq
import itertools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from consortium.client import Batch, ContractRefusal, Deployment, Rules, Suite, TransactionError, Transactor
from consortium.evidence.client import EvidenceClient
from consortium.evidence.envelope import public_key_of
from consortium.operator import enrollment
from consortium.simulation.chain import NetworkAccounts
from consortium.simulation.params import SimConfig
from consortium.simulation.population import ClaimPlan, Person
from consortium.simulation.timekeeping import STEP, Timekeeper

SAMPLES = 10  # failures kept in words


@dataclass
class Stats:
    """Live counters for the progress bar (the report's figures come from the chain)."""

    txs: int = 0
    failed: int = 0
    claims: int = 0
    paid: int = 0  # claims accepted (paid out)
    last_share: int = 0  # fen, the last close's share
    joined: int = 0
    periods_closed: int = 0
    evidence_filed: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # the first few failures, in words
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per part of the steps

    @contextmanager
    def timed(self, part: str):
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.seconds[part] = self.seconds.get(part, 0.0) + time.monotonic() - t0

    def count(self, results: list) -> list:
        """Counts a wave's results as transactions; failures by the name of what refused them."""
        for r in results:
            self.txs += 1
            if isinstance(r, ContractRefusal | TransactionError):
                self.failed += 1
                self.refused(getattr(r, "name", type(r).__name__), str(r))
        return results

    def refused(self, name: str, why: str | None = None) -> None:
        self.refusals[name] = self.refusals.get(name, 0) + 1
        if why is not None and len(self.samples) < SAMPLES:
            self.samples.append(why)


@dataclass
class Staff:
    """Who acts for the platform: a client per role, each signing with a different organisation's
    admin key (the operator account collects), so no key does everything."""

    read: Suite
    operator: Suite
    enroller: Suite
    investigator: Suite
    registrar: Suite
    treasurer: Suite
    evidence: EvidenceClient
    investigator_key: bytes  # the public key claimants seal their evidence to
    registry: enrollment.Registry
    reports: Path  # the investigators' report files

    @classmethod
    def of(cls, w3: Web3, accounts: NetworkAccounts, deployment: Deployment, out: Path) -> Staff:
        admins = accounts.admins
        n = len(admins)
        investigator = Suite(w3, deployment, admins[1 % n])
        (out / "enroller-registry.json").unlink(missing_ok=True)  # this run's deployment only
        reports = out / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        return cls(
            read=Suite(w3, deployment),
            operator=Suite(w3, deployment, accounts.operator),
            enroller=Suite(w3, deployment, admins[0]),
            investigator=investigator,
            registrar=Suite(w3, deployment, admins[2 % n]),
            treasurer=Suite(w3, deployment, admins[3 % n]),
            evidence=EvidenceClient(w3),
            investigator_key=public_key_of(bytes(investigator.tx.account.key)),
            registry=enrollment.Registry(out / "enroller-registry.json"),
            reports=reports,
        )


class Agenda:
    """What each person does when (join, claim, stop paying, leave), in time order; ties in the
    order they were scheduled."""

    def __init__(self) -> None:
        self._queue: list[tuple[int, int, str, int]] = []  # (time, seq, what, person)
        self._seq = itertools.count()

    def schedule(self, at: int, what: str, person: Person) -> None:
        heapq.heappush(self._queue, (at, next(self._seq), what, person.index))

    def due(self, now: int):
        """(what, person index) of everything due by `now`, earliest first."""
        while self._queue and self._queue[0][0] <= now:
            _, _, what, index = heapq.heappop(self._queue)
            yield what, index


@dataclass
class Collection:
    """The operator's auto-debit between closes: who failed to pay and since when, and when the
    failed debits are retried and the defaulters removed."""

    failed_debits: dict[str, int] = field(default_factory=dict)  # member -> when the debit first failed
    retry_due: int | None = None
    removal_due: int | None = None
    paid_up_to: dict[str, int] = field(default_factory=dict)  # what the last debits covered, by member

    def finished(self) -> bool:
        return self.retry_due is None and (self.removal_due is None or not self.failed_debits)


@dataclass
class World:
    """The run: its rules, the staff, the people (with their signers) and their claims."""

    w3: Web3
    config: SimConfig
    rules: Rules
    staff: Staff
    clock: Timekeeper
    people: list[Person]
    signers: dict[int, Transactor]
    start: int
    horizon: int  # seconds from the start the run covers
    last_period: int
    stats: Stats = field(default_factory=Stats)
    agenda: Agenda = field(default_factory=Agenda)
    collection: Collection = field(default_factory=Collection)
    claims: dict[int, ClaimPlan] = field(default_factory=dict)
    jurors: list[Person] = field(default_factory=list)
    jurors_eligible_at: int = 0
    jurors_qualified: bool = False

    @property
    def now(self) -> int:
        return self.clock.now

    def open_claims(self) -> list[int]:
        return [claim_id for claim_id, plan in self.claims.items() if not plan.done]

    def active_through(self, p: Person, wave: Wave) -> bool:
        """Whether the chain counts `p` an active member (past the waiting period, cover not
        ended, in the plan) wherever in this step their transaction lands: nothing of theirs in
        this wave may end the membership first (an exit, a claim being finalized), and neither may
        their cover end inside the step. Jurors and objectors must be; the driver, the only one
        who sends, knows all of it."""
        return (
            p.in_plan
            and p.claim_id is None
            and p.index not in wave.ending
            and p.waiting_ends <= self.now
            and p.cover_ends_at >= self.now + STEP
        )


@dataclass
class Action:
    """A member's transaction in a wave whose landing changes what the driver knows."""

    kind: str  # "join", "claim", "exit" or "commit"
    person: Person
    ticket: int  # its index in the wave's batch
    claim_id: int | None = None  # for a commit: the case voted on


@dataclass
class Wave:
    """What one step sends together and awaits once: the members' own batch, the staff's
    transactions already sent (reviews, finalizations, the payout and refunds after a collection),
    the joiners the treasurer funds and the members the operator ages out. None depends on another:
    what a member sends is about claims decided at earlier steps, and moves none of the pool's
    money that the payout and refunds draw on."""

    batch: Batch
    actions: list[Action] = field(default_factory=list)
    staff_pending: list = field(default_factory=list)
    to_fund: list[str] = field(default_factory=list)
    aged: list[Person] = field(default_factory=list)
    ending: set[int] = field(default_factory=set)  # people whose membership may end with this wave
    enrolments: list[tuple] = field(default_factory=list)  # (the enroller's pending batch, its people)
    refunds: dict | None = None  # the operator's refunds sent (settlement.refund with wait=False)

    def empty(self) -> bool:
        waiting = self.staff_pending or self.enrolments or self.refunds
        return not (len(self.batch) or self.aged or self.to_fund or waiting)
