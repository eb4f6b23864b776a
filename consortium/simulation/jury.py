"""The review board at a step: qualified jurors commit their votes on a disputed case while the
commit window surely stays open, reveal them in the reveal window, and the case is due to be
resolved once the reveal window is over."""

from __future__ import annotations

import random

from consortium.client import vote_commitment
from consortium.operator import jurors as operator_jurors
from consortium.simulation.members import GAS
from consortium.simulation.population import ClaimPlan, Vote
from consortium.simulation.timekeeping import STEP
from consortium.simulation.world import Action, Wave, World


def qualify_jurors(world: World) -> None:
    """On the first day some founders pass the juror exam (the registrar qualifies them)."""
    rng = random.Random(f"{world.config.seed}:jurors")
    founders = [p for p in world.people[: world.config.members] if p.in_plan]
    if len(founders) < min(world.config.jurors, max(1, world.config.members // 4)):
        return  # the launch: not yet enough members in the plan
    world.jurors_qualified = True
    world.jurors = rng.sample(founders, min(world.config.jurors, len(founders)))
    if not world.jurors:
        return
    qualified = operator_jurors.qualify(world.staff.registrar, [p.address for p in world.jurors])
    world.jurors_eligible_at = qualified["eligible_at"] or 0
    world.stats.txs += 1


def vote(world: World, plan: ClaimPlan, case, wave: Wave) -> None:
    """One step of a disputed case: commits while the commit window surely stays open, reveals
    while the reveal window does (once it is over the case is resolved with the finalizations)."""
    now = world.now
    if case.extended and not plan.second_round:  # too few votes: those who stayed home may vote now
        plan.second_round = True
        plan.abstained.clear()
    if now + STEP <= case.commitEndsAt:
        commit_votes(world, plan, case, wave)
    elif case.commitEndsAt <= now and now + STEP <= case.revealEndsAt:
        reveal_votes(world, plan, case, wave)


def commit_votes(world: World, plan: ClaimPlan, case, wave: Wave) -> None:
    """Each juror who may vote and has not: stays home (drawn by turnout) or commits a vote. A
    juror past the exam delay who will not stay an active member through the step is not asked."""
    if world.now < world.jurors_eligible_at:
        return
    config = world.config
    for juror in world.jurors:
        if juror.address in plan.votes or juror.address in plan.abstained:
            continue
        if juror is plan.person or not world.active_through(juror, wave):
            continue
        rng = random.Random(f"{config.seed}:vote:{plan.claim_id}:{juror.index}:{case.extended}")
        if rng.random() >= config.juror_turnout:
            plan.abstained.add(juror.address)  # stays home this round
            continue
        in_favour = plan.vote(rng)
        salt = rng.randbytes(32)
        commitment = vote_commitment(plan.claim_id, juror.address, in_favour, salt)
        sender = wave.batch.by(world.signers[juror.index])
        ticket = world.staff.read.jury.commit_hash(
            plan.claim_id, commitment, sender=sender, gas=GAS["commit"]
        )
        plan.votes[juror.address] = Vote(juror, in_favour, salt)
        wave.actions.append(Action("commit", juror, ticket, plan.claim_id))


def reveal_votes(world: World, plan: ClaimPlan, case, wave: Wave) -> None:
    """Every committed vote not yet revealed is revealed."""
    for v in plan.votes.values():
        if v.revealed or not v.committed:
            continue
        sender = wave.batch.by(world.signers[v.juror.index])
        world.staff.read.jury.reveal(plan.claim_id, v.in_favour, v.salt, sender=sender, gas=GAS["reveal"])
        v.revealed = True
