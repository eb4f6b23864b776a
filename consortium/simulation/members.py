"""Members' actions of a step, each signed by the member: joining (after the enroller's
attestation, with a mandate for auto-debit), filing a claim with its evidence, stopping payment,
leaving; and what the driver learns when they land."""

from __future__ import annotations

from consortium.client import MAX_ALLOWANCE, sign_mandate
from consortium.evidence.bundle import Bundle
from consortium.evidence.envelope import public_key_of
from consortium.evidence.store import EvidenceError
from consortium.operator import enrollment
from consortium.operator.enrollment import Applicant
from consortium.simulation.population import YEAR, Person, plan_claim
from consortium.simulation.timekeeping import STEP, first_day
from consortium.simulation.world import Action, Wave, World
from consortium.wallet.attestation import attestation_from_json

GAS = {  # limits, not costs: a block is filled by the sum of limits, so keep them near the real use
    "join": 160_000,
    "submit": 350_000,
    "object": 150_000,
    "dispute": 350_000,
    "commit": 150_000,
    "reveal": 150_000,
    "exit": 250_000,
    "revoke": 80_000,
}


def members_act(world: World, wave: Wave) -> None:
    """Everything due on the agenda: claims, stopped payments and exits of members in the plan,
    then the step's joiners."""
    joiners = []
    for what, index in world.agenda.due(world.now):
        p = world.people[index]
        if what == "join":
            joiners.append(p)
        elif not p.in_plan:
            continue
        elif what == "claim":
            file_claim(world, p, wave)
        elif what == "default":
            stop_paying(world, p, wave)
        elif what == "exit":
            leave(world, p, wave)
    join(world, joiners, wave, by_enroller=world.config.launch)  # the launch's cohorts: in batches


FOUNDERS_SLICE = 8 * enrollment.ENROLL_CHUNK  # people attested, signed for and sent at a time


def join(world: World, people: list[Person], wave: Wave, by_enroller: bool = False) -> None:
    """People join; cohorts enrolled by the enroller go a slice at a time: a slice's batches are
    on their way before the next slice is attested and signed for, so the chain executes while
    the enroller works instead of after."""
    size = FOUNDERS_SLICE if by_enroller else max(1, len(people))
    for i in range(0, len(people), size):
        _join(world, people[i : i + size], wave, by_enroller)


def _join(world: World, people: list[Person], wave: Wave, by_enroller: bool) -> None:
    """The enroller attests everyone eligible through the operator's enrollment (one registry,
    batched reads); the treasurer funds them with the wave. Each joins with their attestation and an
    unlimited auto-debit mandate in a transaction of their own, or (`by_enroller`, the founding
    cohorts) signs the mandate off chain for the enroller, who enrolls them in batches."""
    eligible = attest(world, people)
    wave.to_fund += [p.address for p, _, _ in eligible]
    staff = world.staff
    d = staff.read.deployment
    signed = []
    for p, a, signature in eligible:
        p.cover_ends_at = a.cover_ends_at
        if by_enroller:
            membership = d.addresses["membership"]
            mandate = sign_mandate(p.key, p.address, MAX_ALLOWANCE, a.expiry, d.chain_id, membership)
            signed.append((p, (a, mandate)))
            continue
        sender = wave.batch.by(world.signers[p.index])
        ticket = staff.read.membership.join(a, signature, MAX_ALLOWANCE, sender=sender, gas=GAS["join"])
        wave.actions.append(Action("join", p, ticket))
    if signed:
        world.clock.ready(stamped=False)
        pending = enrollment.enroll_signed(staff.enroller, [item for _, item in signed], wait=False)
        chunk = enrollment.ENROLL_CHUNK
        for i, sent in enumerate(pending):
            wave.enrolments.append((sent, [p for p, _ in signed[i * chunk : (i + 1) * chunk]]))


def attest(world: World, people: list[Person]) -> list[tuple]:
    """(person, attestation, enroller's signature) for each person eligible to join now."""
    now, staff = world.now, world.staff
    applicants = [
        Applicant(p.address, f"ID{p.index:08d}", first_day(now - int(p.age * YEAR)), True) for p in people
    ]
    outcomes = enrollment.enroll_many(staff.enroller, staff.registry, applicants, YEAR, now=now)
    eligible = []
    for p, outcome in zip(people, outcomes, strict=True):
        attested = None if isinstance(outcome, enrollment.Ineligible) else attestation_from_json(outcome)
        if attested is None or attested[0].cover_ends_at < now + STEP:  # turns 60 before joining
            world.stats.refused("ineligible")
        else:
            eligible.append((p, *attested))
    return eligible


def file_claim(world: World, p: Person, wave: Wave) -> None:
    """The member falls ill (or pretends to): evidence to the store, its root on chain. A claim
    whose landing could fall on either side of the end of the waiting period or of the cover waits
    a step."""
    if p.claim_id is not None or p.cover_ends_at <= world.now:  # covered no more: ageing out
        return
    unclear = world.clock.unclear(p.waiting_ends) or world.clock.unclear(p.cover_ends_at)
    if unclear or p.address in world.collection.failed_debits:  # owing past the grace: refused
        world.agenda.schedule(world.now + STEP, "claim", p)
        return
    bundle = Bundle.of_named(
        [
            ("diagnosis.txt", f"patient {p.index}: illness {1 + p.rng.randrange(100)}".encode()),
            ("hospital-record.txt", p.rng.randbytes(64)),
        ]
    )
    illness = 1 + p.rng.randrange(100)
    file_evidence(world, p, bundle)
    sender = wave.batch.by(world.signers[p.index])
    ticket = world.staff.read.claims.submit(
        illness, p.accident, bundle.root, sender=sender, gas=GAS["submit"]
    )
    wave.actions.append(Action("claim", p, ticket))


def file_evidence(world: World, p: Person, bundle: Bundle) -> None:
    """The files go to the consortium's evidence store, sealed for the claimant and the
    investigators; only their Merkle root goes on chain."""
    readers = [public_key_of(bytes(world.signers[p.index].account.key)), world.staff.investigator_key]
    try:
        world.staff.evidence.put(bundle.root, bundle.seal_for(readers), p.key)
        world.stats.evidence_filed += 1
    except EvidenceError as exc:
        world.stats.refused("evidence", str(exc))


def stop_paying(world: World, p: Person, wave: Wave) -> None:
    """The member revokes their auto-debit mandate."""
    read = world.staff.read
    read.pool.set_mandate(0, sender=wave.batch.by(world.signers[p.index]), gas=GAS["revoke"])


def leave(world: World, p: Person, wave: Wave) -> None:
    """The member exits (never with a claim under way, nor when the operator ends their cover at
    this step: one of the two would be refused)."""
    if p.claim_id is not None or p.cover_ends_at <= world.now:
        return
    sender = wave.batch.by(world.signers[p.index])
    ticket = world.staff.read.membership.exit(sender=sender, gas=GAS["exit"])
    wave.actions.append(Action("exit", p, ticket))
    wave.ending.add(p.index)


def landed(world: World, actions: list[Action], results: list) -> None:
    """What the members' landed transactions tell the driver (a refused one tells nothing, but a
    refused vote is not kept to be revealed)."""
    for action in actions:
        result = results[action.ticket]
        if isinstance(result, Exception):
            if action.kind == "commit":
                world.claims[action.claim_id].votes.pop(action.person.address, None)
            continue
        LANDED[action.kind](world, action.person, result, action)


def enrolled(world: World, enrolments: list[tuple], receipts: list) -> None:
    """What the enroller's batches tell: who is in, and when their waiting period ends."""
    membership = world.staff.read.membership
    for (_, people), receipt in zip(enrolments, receipts, strict=True):
        if isinstance(receipt, Exception):
            continue
        waiting = {
            e["args"]["member"]: e["args"]["waitingEndsAt"]
            for e in membership.in_receipt(receipt, "MemberJoined")
        }
        for p in people:
            if p.address in waiting:
                now_member(world, p, waiting[p.address])


def joined(world: World, p: Person, receipt, _action: Action) -> None:
    """Their waiting period runs from the block they joined in."""
    now_member(world, p, world.clock.block_time(receipt["blockNumber"]) + world.rules.waiting_period)


def now_member(world: World, p: Person, waiting_ends: int) -> None:
    """In the plan (the chain's end of their waiting period); what they do is scheduled from the
    step's time."""
    p.joined_at = world.now
    p.waiting_ends = waiting_ends
    world.stats.joined += 1
    for kind, after in (("claim", p.claim_after), ("default", p.default_after), ("exit", p.exit_after)):
        if after is not None and after < world.horizon:
            world.agenda.schedule(p.joined_at + after, kind, p)


def claim_filed(world: World, p: Person, receipt, _action: Action) -> None:
    """An illness claimed in the waiting period ends the membership; any other claim is planned."""
    claims = world.staff.read.claims
    event = claims.in_receipt(receipt, "ClaimSubmitted")[0]["args"]
    world.stats.claims += 1
    if claims.in_receipt(receipt, "ClaimRefusedInWaitingPeriod"):
        p.out = "ended in waiting period"
        return
    p.claim_id = event["claimId"]
    world.claims[p.claim_id] = plan_claim(world.config, p.claim_id, p)


def left(world: World, p: Person, _sent, _action: Action) -> None:
    p.out = "exit"


def committed(world: World, p: Person, _sent, action: Action) -> None:
    world.claims[action.claim_id].votes[p.address].committed = True


LANDED = {"join": joined, "claim": claim_filed, "exit": left, "commit": committed}
