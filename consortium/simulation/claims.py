"""Claims' progress at a step, each claim by its status on chain: the investigator reviews new
ones (and those sent back by an objection), a member objects to a false claim under notice, a
wrongly rejected claimant disputes, the jury votes on a dispute, and what is due is finalized."""

from __future__ import annotations

from consortium.client import DAY, ContractRefusal
from consortium.evidence.bundle import Bundle
from consortium.operator import review, settlement
from consortium.simulation import jury
from consortium.simulation.members import GAS
from consortium.simulation.population import ClaimPlan, Person
from consortium.simulation.timekeeping import STEP
from consortium.simulation.world import Wave, World

REVIEW_DELAY = DAY
OVER = ("Accepted", "Denied", "RefusedInWaitingPeriod", "Lapsed")


def progress_claims(world: World, wave: Wave) -> None:
    """Every open claim one step on; the step's reviews and finalizations go with the wave. First
    what the chain says of every claim (claims that are over are closed, and the claimants of
    claims due to be finalized may lose their membership with this wave), then what is sent."""
    now = world.now
    open_claims = read_open_claims(world)
    due = False
    for plan, c, status, case in open_claims:
        notice_over = status == "InNotice" and c.deadline <= now
        if notice_over or (status == "Disputed" and now >= case.revealEndsAt):
            due = True
            wave.ending.add(plan.person.index)  # if accepted, their membership ends: paid out
    to_review = []
    for plan, c, status, case in open_claims:
        if status == "UnderReview":
            if now >= c.submittedAt + REVIEW_DELAY:
                to_review.append(plan)
        elif status == "InNotice":
            under_notice(world, plan, c, wave)
        elif status == "Rejected":
            rejected(world, plan, c, wave)
        elif status == "Disputed":
            jury.vote(world, plan, case, wave)
    if to_review:
        world.clock.ready(stamped=False)
        decide(world, to_review, wave)
    if due:
        world.clock.ready(stamped=False)  # sent with flat gas: nothing reads the chain's time first
        finalizing = settlement.finalize_due(
            world.staff.operator, now=now, wait=False, ids=world.open_claims()
        )
        wave.staff_pending += finalizing["pending"]


def read_open_claims(world: World) -> list[tuple]:
    """(plan, claim, status, jury case or None) of every claim still under way; those the chain
    says are over are closed here."""
    claims, jury_ = world.staff.read.claims, world.staff.read.jury
    plans = [plan for plan in world.claims.values() if not plan.done]
    out = []
    for plan, c in zip(plans, claims.claim_each([p.claim_id for p in plans]), strict=True):
        status = claims.STATUSES[c.status]
        if status in OVER:
            close(world, plan, status)
        else:
            out.append((plan, c, status, jury_.case(plan.claim_id) if status == "Disputed" else None))
    return out


def under_notice(world: World, plan: ClaimPlan, c, wave: Wave) -> None:
    """Before the notice is over, a false claim that passed review may draw an objection (only if
    it surely lands before the notice ends)."""
    now = world.now
    if plan.objected and not plan.objection_sent and now + STEP <= c.deadline:
        objector = choose_objector(world, plan, wave)
        if objector is not None:
            evidence = Bundle.of_named([("objection.txt", f"claim {plan.claim_id} is false".encode())])
            sender = wave.batch.by(world.signers[objector.index])
            world.staff.read.claims.object(plan.claim_id, evidence.root, sender=sender, gas=GAS["object"])
            plan.objection_sent = True


def rejected(world: World, plan: ClaimPlan, c, wave: Wave) -> None:
    """A rejected claimant who disputes does so inside the window; otherwise the rejection stands."""
    now = world.now
    if plan.disputes and not plan.dispute_sent and now + STEP <= c.deadline:
        sender = wave.batch.by(world.signers[plan.person.index])
        world.staff.read.claims.dispute(plan.claim_id, sender=sender, gas=GAS["dispute"])
        plan.dispute_sent = True
    elif not plan.disputes or now >= c.deadline:
        close(world, plan, "Rejected")


def close(world: World, plan: ClaimPlan, status: str) -> None:
    """The claim is over; a paid claimant's membership ended with it."""
    plan.done = True
    plan.person.claim_id = None
    if status == "Accepted":
        plan.person.out = "paid out"
        world.stats.paid += 1


def decide(world: World, plans: list[ClaimPlan], wave: Wave) -> None:
    """The investigator's decisions of the step, sent together through the operator's review."""
    decisions = []
    for plan in plans:
        approve = plan.decision()
        report = world.staff.reports / f"claim-{plan.claim_id}-{plan.decided}.txt"
        verdict = "approved" if approve else "rejected"
        report.write_text(f"claim {plan.claim_id}: {verdict} after review {plan.decided + 1}\n")
        decisions.append((plan.claim_id, approve, report))
        plan.decided += 1
    try:
        wave.staff_pending += review.decide_many(world.staff.investigator, decisions, wait=False)
    except ContractRefusal as exc:  # refused at its estimate: counted, as a landed refusal is
        world.stats.count([exc])


def choose_objector(world: World, plan: ClaimPlan, wave: Wave) -> Person | None:
    """Any member who stays active through the step (the chain refuses others' objections)."""
    candidates = [p for p in world.people if p is not plan.person and world.active_through(p, wave)]
    return plan.rng.choice(candidates) if candidates else None
