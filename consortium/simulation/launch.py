"""The launch scenario: the plan as it really began, scaled to the simulated population.

Growth (domain.md, [P][S]): launched 16 October 2018; about 50 million members in under six months
(April 2019); more than 100 million by 22 November 2019; about 75 million in the last period before
it closed on 28 January 2022. Monthly counts in between are not published: membership here is
interpolated linearly between those points (and the simulated population N stands for the peak of
100 million). People join at the times that make the count follow the curve; after the peak
members leave at the constant rate that takes 100 to 75 million by January 2022.

Incidence by tier, derived once from the published 2020 figures: 2020 cost RMB 91 a member with
about 100 million members and 68,675 aided, an 8% fee, so the average aid was RMB 122,694; with
covers of RMB 300,000 under 40 and RMB 100,000 from 40 that means 11.3% of the cases were under 40.
With members' ages uniform from 30 days to 60 years (an assumption: the age mix is not published)
two thirds of members are under 40, so a member from 40 falls ill about 15.6 times as often as one
under 40, and the overall rate stays the configured incidence (the real 2020 rate times k).
"""

from __future__ import annotations

import math
from datetime import date

from consortium.client import DAY
from consortium.simulation.params import REAL, SimConfig

YEAR_DAYS = 365
LAUNCHED = date(2018, 10, 16)
# (days after the launch, share of the peak membership in the plan)
CURVE = [
    (0, 0.0),
    ((date(2019, 4, 16) - LAUNCHED).days, 0.50),
    ((date(2019, 11, 22) - LAUNCHED).days, 1.00),
    ((date(2022, 1, 28) - LAUNCHED).days, 0.75),
]
PEAK_DAY = CURVE[2][0]
# members leave after the peak at the rate that takes the plan from 100 to 75 million by its end
EXIT_RATE_AFTER_PEAK = -math.log(CURVE[3][1] / CURVE[2][1]) / ((CURVE[3][0] - PEAK_DAY) / YEAR_DAYS)
FEE = 0.08
REAL_AVERAGE_AID = REAL["cost_per_member_2020_rmb"] * REAL["members"] / (1 + FEE) / REAL["aided_2020"]
UNDER_40_SHARE_OF_CASES = (REAL_AVERAGE_AID - 100_000) / (300_000 - 100_000)
UNDER_40_SHARE_OF_MEMBERS = (40 - 30 / 365) / (60 - 30 / 365)  # ages uniform from 30 days to 60
RISK_FROM_40 = (UNDER_40_SHARE_OF_MEMBERS * (1 - UNDER_40_SHARE_OF_CASES)) / (
    (1 - UNDER_40_SHARE_OF_MEMBERS) * UNDER_40_SHARE_OF_CASES
)
# the first two full calendar years after the launch stand for these real years
REAL_YEARS = {1: 2019, 2: 2020}


def share_in_plan(day: float) -> float:
    """The share of the peak membership in the plan `day` days after the launch (interpolated)."""
    for (d0, s0), (d1, s1) in zip(CURVE, CURVE[1:], strict=False):
        if day <= d1:
            return s0 + (s1 - s0) * max(0.0, day - d0) / (d1 - d0)
    return CURVE[-1][1]


def join_day(u: float) -> float:
    """When the u-th share of the population joins (0 <= u < 1): the rising part of the curve
    inverted, so that the count in the plan follows it."""
    for (d0, s0), (d1, s1) in zip(CURVE[:3], CURVE[1:3], strict=False):
        if u <= s1:
            return d0 + (d1 - d0) * (u - s0) / (s1 - s0)
    return PEAK_DAY


def join_offset(index: int, population: int) -> int:
    """Seconds after the launch that person `index` of `population` joins (evenly along the curve)."""
    return int(join_day((index + 0.5) / population) * DAY)


def incidence_by_tier(config: SimConfig) -> tuple[float, float]:
    """(per member-year under 40, from 40): the configured incidence split as the 2020 cases were."""
    overall = config.incidence
    under_40 = overall / (UNDER_40_SHARE_OF_MEMBERS + RISK_FROM_40 * (1 - UNDER_40_SHARE_OF_MEMBERS))
    return under_40, under_40 * RISK_FROM_40


def exit_after(rng, join_offset_s: int) -> int | None:
    """Seconds after joining that a member leaves: only after the peak, at EXIT_RATE_AFTER_PEAK."""
    from_peak = rng.expovariate(EXIT_RATE_AFTER_PEAK) * YEAR_DAYS * DAY
    return int(max(join_offset_s, PEAK_DAY * DAY) + from_peak - join_offset_s)
