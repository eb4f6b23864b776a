"""What the simulation draws from, and the plan's rules it deploys with.

A few thousand members at the real incidence would see one or two claims a year, and one
RMB 300,000 case shared by 2,000 people would hit every cap. So the simulation scales incidence up
by a factor k and cover down by the same k: the cost per member-year stays comparable with the real
plan's, while there are enough cases to see the rules at work. k is printed in the report, and the
side-by-side divides claim counts by k again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from consortium.client import DAY, Rules

# The real plan (domain.md): [S] secondary sources.
REAL = {
    "members": 100_000_000,  # by Nov 2019; about 75 million in the last period
    "aided_2019": 16_528,
    "aided_2020": 68_675,
    "cost_per_member_2019_rmb": 29,
    "cost_per_member_2020_rmb": 91,
}
# aided per member-year in 2020, with about 100 million members sharing
REAL_INCIDENCE = REAL["aided_2020"] / REAL["members"]
REAL_COVER_UNDER_40 = 30_000_000  # fen
REAL_COVER_40_TO_59 = 10_000_000


@dataclass(frozen=True)
class SimConfig:
    members: int = 2_000  # founding cohort: a year of it fits in ten minutes on 4 py-evm validators
    months: int = 12
    incidence: float = 0.05  # critical illnesses per member-year (the real plan: 0.0007)
    fraud_rate: float = 0.2  # share of claims that are fraudulent
    default_rate: float = 0.03  # members per member-year who stop paying
    juror_turnout: float = 0.6
    seed: int = 1
    accident_share: float = 0.1  # of illnesses: accidents, exempt from the waiting period
    join_rate: float = 0.1  # new joiners per year, as a share of the founding cohort
    exit_rate: float = 0.04  # members per member-year who leave
    review_catch: float = 0.6  # fraud the investigator catches in review
    objection_catch: float = 0.7  # of fraud that passes review, share someone objects to in notice
    wrongful_rejection: float = 0.05  # genuine claims the investigator rejects (the claimant disputes)
    fraud_dispute: float = 0.5  # caught fraudsters who dispute anyway
    claims_in_waiting: float = 0.5  # ill during the waiting period: share who claim anyway
    jurors: int = 40  # members who pass the juror exam at the start
    min_votes: int = 5  # valid votes a disputed case needs (the real plan: 1,000)
    waiting_days: int = 90  # the real plan's; shorter only to see payouts in a short run
    start: str | None = None  # ISO date the plan starts (default: the next 1 January, or 16 October)
    # "steady": the founding cohort joins on the first day, 10% more during the year. "launch": the
    # whole population joins along the real plan's growth curve from its launch (launch.py)
    scenario: str = "steady"

    @property
    def launch(self) -> bool:
        return self.scenario == "launch"

    @property
    def scale(self) -> float:
        """k: how much more often members fall ill than in the real plan (cover is k times less)."""
        return self.incidence / REAL_INCIDENCE

    def to_dict(self) -> dict:
        return {**asdict(self), "scale_k": round(self.scale, 3)}

    def with_(self, **changes) -> SimConfig:
        return replace(self, **changes)


SCENARIOS = {
    "steady": "the founders join on day one, 10% more during the year",
    "launch": "everyone joins along the real plan's growth curve from 16 October",
}


def default_months(scenario: str) -> int:
    """A year; the launch: from 16 October to past the end of the second full calendar year."""
    return 27 if scenario == "launch" else 12


def simulation_rules(config: SimConfig) -> Rules:
    """The real plan's rules, with cover scaled by 1/k, the per-case cap off (the year cap stays) and
    windows a few simulated days wider so a driver on a scaled clock never misses one."""
    k = config.scale
    year_cap = Rules().year_cap
    return Rules(
        waiting_period=config.waiting_days * DAY,
        cover_under_40=max(100, round(REAL_COVER_UNDER_40 / k)),
        cover_40_to_59=max(100, round(REAL_COVER_40_TO_59 / k)),
        case_cap=year_cap,  # off: the real RMB 0.1 cap assumes 100 million members sharing
        year_cap=year_cap,
        notice_period=10 * DAY,
        dispute_window=14 * DAY,
        commit_duration=10 * DAY,
        reveal_duration=10 * DAY,
        min_votes=config.min_votes,
    )
