"""The simulated people: who joins when, how old they are, who falls ill (or pretends to), who stops
paying, who leaves. Every draw comes from a generator seeded by (seed, person), so the same seed
gives the same people and the same decisions however fast the chain runs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from eth_account import Account

from consortium.client import DAY
from consortium.simulation import launch
from consortium.simulation.params import SimConfig

YEAR = 365 * DAY


@dataclass
class Person:
    index: int
    key: str
    address: str
    age: float  # years, at the start of the simulation
    join_offset: int  # simulated seconds after the start
    claim_after: int | None  # seconds after joining: falls ill (or files a false claim)
    fraud: bool
    accident: bool
    default_after: int | None  # stops paying (revokes the auto-debit)
    exit_after: int | None
    rng: random.Random = field(repr=False)
    # what happened on chain
    joined_at: int | None = None  # the simulated day they joined
    waiting_ends: int = 0  # the chain's end of their waiting period
    cover_ends_at: int = 0
    out: str = ""  # why the membership ended, once it did
    claim_id: int | None = None
    refunded: bool = False  # stopped sharing and holds no credit (refunded, or had none)

    @property
    def in_plan(self) -> bool:
        return self.joined_at is not None and not self.out


def _after(rng: random.Random, per_year: float) -> int | None:
    return int(rng.expovariate(per_year) * YEAR) if per_year > 0 else None


def joiners(config: SimConfig) -> int:
    """People who join after the first day (in the launch scenario the founders are nobody: all of
    the population joins along the growth curve)."""
    if config.launch:
        return 0
    return round(config.members * config.join_rate * config.months / 12)


def founders(config: SimConfig) -> int:
    return 0 if config.launch else config.members


def check_enough(config: SimConfig, accounts: int) -> int:
    """How many member accounts the run needs (founders and joiners); refuses if there are fewer."""
    total = config.members + joiners(config)
    if accounts < total:
        raise ValueError(
            f"the network has {accounts} allowlisted user accounts but {config.members} members and "
            f"{joiners(config)} joiners need {total}: create it with `hubao net init --users {total}` or more"
        )
    return total


def draw_population(config: SimConfig, keys: list[str], horizon: int, waiting: int) -> list[Person]:
    """The founding cohort (joins at once) and the joiners spread over the horizon."""
    total = check_enough(config, len(keys))
    people = []
    by_tier = launch.incidence_by_tier(config) if config.launch else None
    for i in range(total):
        rng = random.Random(f"{config.seed}:person:{i}")
        if config.launch:
            join_offset = launch.join_offset(i, total)
        else:
            join_offset = 0 if i < config.members else int(rng.uniform(0, horizon))
        age = min(rng.uniform(0.1, 59.95), 59.9 - join_offset / YEAR)  # some turn 60 in the year
        fraud = rng.random() < config.fraud_rate
        accident = not fraud and rng.random() < config.accident_share
        incidence = config.incidence
        if by_tier is not None:  # the 2020 cases' mix: from 40, members fall ill far more often
            incidence = by_tier[0] if age + join_offset / YEAR < 40 else by_tier[1]
        claim_rate = incidence / (1 - config.fraud_rate) if config.fraud_rate < 1 else incidence
        claim_after = _after(rng, claim_rate)
        if claim_after is not None and claim_after < waiting and not accident:
            if fraud:
                claim_after = waiting + 2 * DAY  # a fraudster waits out the waiting period
            elif rng.random() >= config.claims_in_waiting:
                claim_after = None  # ill in the waiting period, and never says so
        people.append(
            Person(
                index=i,
                key=keys[i],
                address=Account.from_key(keys[i]).address,
                age=age,
                join_offset=join_offset,
                claim_after=claim_after,
                fraud=fraud,
                accident=accident,
                default_after=_after(rng, config.default_rate),
                exit_after=_exit_after(config, rng, join_offset),
                rng=rng,
            )
        )
    return people


def _exit_after(config: SimConfig, rng: random.Random, join_offset: int) -> int | None:
    if config.launch:
        return launch.exit_after(rng, join_offset)
    return _after(rng, config.exit_rate)


@dataclass
class Vote:
    """A juror's committed vote on one case, kept until it is revealed."""

    juror: Person
    in_favour: bool
    salt: bytes
    committed: bool = False  # the commit landed
    revealed: bool = False


@dataclass
class ClaimPlan:
    """How one claim will go, drawn when it is filed."""

    claim_id: int
    person: Person
    fraud: bool
    caught_in_review: bool
    objected: bool  # someone objects during the notice (fraud that passed review)
    wrongly_rejected: bool
    disputes: bool
    rng: random.Random = field(repr=False)
    decided: int = 0  # investigator decisions made
    objection_sent: bool = False
    dispute_sent: bool = False
    votes: dict[str, Vote] = field(default_factory=dict)  # juror's address -> their vote this case
    abstained: set[str] = field(default_factory=set)  # jurors who stayed home this round
    second_round: bool = False  # the jury was extended for too few votes
    done: bool = False

    def decision(self) -> bool:
        """Approve? The first review follows the draw; after an objection the case is rejected."""
        if self.decided > 0:
            return False
        if self.fraud:
            return not self.caught_in_review
        return not self.wrongly_rejected

    def vote(self, juror_rng: random.Random) -> bool:
        return juror_rng.random() < (0.15 if self.fraud else 0.9)


def plan_claim(config: SimConfig, claim_id: int, person: Person) -> ClaimPlan:
    rng = random.Random(f"{config.seed}:claim:{person.index}")
    caught = person.fraud and rng.random() < config.review_catch
    objected = person.fraud and not caught and rng.random() < config.objection_catch
    wrong = not person.fraud and rng.random() < config.wrongful_rejection
    disputes = wrong or (person.fraud and rng.random() < config.fraud_dispute)
    return ClaimPlan(claim_id, person, person.fraud, caught, objected, wrong, disputes, rng)
