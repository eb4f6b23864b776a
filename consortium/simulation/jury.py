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
from consortium.simulation.world import Wave, World


def qualify_jurors(world: World) -> None:
    """On the first day some founders pass the juror exam (the registrar qualifies them)."""
    rng = random.Random(f"{world.config.seed}:jurors")
    founders = [p for p in world.people[: world.config.members] if p.in_plan]
    world.jurors = rng.sample(founders, min(world.config.jurors, len(founders)))
    qualified = operator_jurors.qualify(world.staff.registrar, [p.address for p in world.jurors])
    world.jurors_eligible_at = qualified["eligible_at"] or 0
    world.stats.txs += 1


def vote(world: World, plan: ClaimPlan, wave: Wave) -> bool:
    """One step of a disputed case; True once its votes are over and it is due to be resolved."""
    case = world.staff.read.jury.case(plan.claim_id)
    now = world.now
    if now >= case.revealEndsAt:
        return True
    if now + STEP <= case.commitEndsAt:
        commit_votes(world, plan, case, wave)
    elif case.commitEndsAt <= now and now + STEP <= case.revealEndsAt:
        reveal_votes(world, plan, case, wave)
    return False


def commit_votes(world: World, plan: ClaimPlan, case, wave: Wave) -> None:
    """Each juror who may vote and has not: stays home (drawn by turnout) or commits a vote."""
    now, config = world.now, world.config
    for juror in world.jurors:
        if juror.address in plan.votes or juror.address in plan.abstained:
            continue
        if juror is plan.person or not juror.in_plan:
            continue
        if now < world.jurors_eligible_at or juror.waiting_ends > now:
            continue  # not yet past the exam delay, or not yet an active member
        rng = random.Random(f"{config.seed}:vote:{plan.claim_id}:{juror.index}:{case.extended}")
        if rng.random() >= config.juror_turnout:
            plan.abstained.add(juror.address)  # stays home this round
            continue
        in_favour = plan.vote(rng)
        salt = rng.randbytes(32)
        commitment = vote_commitment(plan.claim_id, juror.address, in_favour, salt)
        sender = wave.batch.by(world.signers[juror.index])
        world.staff.read.jury.commit_hash(plan.claim_id, commitment, sender=sender, gas=GAS["commit"])
        plan.votes[juror.address] = Vote(juror, in_favour, salt)


def reveal_votes(world: World, plan: ClaimPlan, case, wave: Wave) -> None:
    """Every committed vote not yet revealed is revealed."""
    for v in plan.votes.values():
        if v.revealed:
            continue
        sender = wave.batch.by(world.signers[v.juror.index])
        world.staff.read.jury.reveal(plan.claim_id, v.in_favour, v.salt, sender=sender, gas=GAS["reveal"])
        v.revealed = True
    if case.extended:  # a second round: those who stayed home may vote now
        plan.abstained.clear()
