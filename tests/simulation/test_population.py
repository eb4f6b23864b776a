"""The population model without a chain: the same seed draws the same people and decisions (so a
rerun on the same network settings is the same simulation), the rules scale as documented, and a
run that lacks member accounts is refused with the number it needs."""

from __future__ import annotations

import pytest
from eth_account import Account

from consortium.simulation.params import REAL_COVER_UNDER_40, REAL_INCIDENCE, SimConfig, simulation_rules
from consortium.simulation.population import YEAR, check_enough, draw_population, plan_claim

KEYS = ["0x" + f"{i + 1:064x}" for i in range(300)]


def draws(config: SimConfig):
    rules = simulation_rules(config)
    people = draw_population(config, KEYS, config.months * 2 * rules.period_length, rules.waiting_period)
    return [(p.address, round(p.age, 6), p.join_offset, p.claim_after, p.fraud, p.accident, p.default_after,
             p.exit_after) for p in people]  # fmt: skip


def test_same_seed_same_people_other_seed_other_people():
    config = SimConfig(members=200, months=12, seed=3)
    assert draws(config) == draws(config)
    assert draws(config) != draws(config.with_(seed=4))


def test_population_is_plausible():
    config = SimConfig(members=200, months=12, incidence=0.5, fraud_rate=0.2, seed=5)
    rules = simulation_rules(config)
    people = draw_population(config, KEYS, 24 * rules.period_length, rules.waiting_period)
    assert len(people) == 200 + 20  # founders and a year's joiners (10%)
    assert people[0].address == Account.from_key(KEYS[0]).address
    assert all(0 < p.age < 60 for p in people)
    assert all(p.join_offset == 0 for p in people[:200]) and any(p.join_offset > 0 for p in people[200:])
    frauds = [p for p in people if p.fraud]
    assert 0 < len(frauds) < len(people) / 2
    # a fraudster never files inside the waiting period; an accident may be filed any time
    assert all(p.claim_after is None or p.claim_after >= rules.waiting_period for p in frauds)
    assert not any(p.fraud and p.accident for p in people)
    # the claim plan of a caught fraudster is a rejection; a genuine claim is approved unless wrongly
    plans = [plan_claim(config, i, p) for i, p in enumerate(people) if p.claim_after is not None]
    assert all(not plan.decision() for plan in plans if plan.fraud and plan.caught_in_review)
    assert all(plan.decision() for plan in plans if not plan.fraud and not plan.wrongly_rejected)
    assert all(plan.disputes for plan in plans if plan.wrongly_rejected)
    for plan in plans:  # back in review after an objection: rejected
        plan.decided = 1
        assert plan.decision() is False


def test_rules_scale_cover_by_k_and_keep_the_plan():
    config = SimConfig(incidence=0.06)
    rules = simulation_rules(config)
    k = 0.06 / REAL_INCIDENCE
    assert config.scale == pytest.approx(k)
    assert rules.cover_under_40 == round(REAL_COVER_UNDER_40 / k)
    assert rules.case_cap == rules.year_cap == 18_800  # per-case cap off, the year cap stays
    assert rules.waiting_period == 90 * 86_400 and rules.fee_bps == 800
    assert rules.period_length * 24 <= YEAR  # twice a month


def test_too_few_accounts_names_how_many():
    config = SimConfig(members=100, months=12)
    assert check_enough(config, 110) == 110
    with pytest.raises(ValueError, match="--users 110"):
        check_enough(config, 109)
