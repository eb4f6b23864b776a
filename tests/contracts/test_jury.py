"""Disputed rejections go to qualified jurors who vote by commit-reveal."""

import pytest

from consortium.client import DAY
from tests.contracts.world import REPORT, ROOT, refused


@pytest.fixture
def dispute(world):
    """A claimant whose claim was rejected and disputed, four eligible jurors, and a fresh juror."""
    claimant = world.join()
    jurors = world.join_many(4)
    world.registrar.jury.qualify([j.address for j in jurors] + [claimant.address])
    world.advance(world.rules.waiting_period + 1)
    cid = claimant.claims.submit(12, False, ROOT)
    world.investigator.claims.reject(cid, REPORT)
    claimant.claims.dispute(cid)
    assert claimant.claims.status(cid) == "Disputed"
    return claimant, jurors, cid


def vote(world, jurors, cid, votes):
    salts = [j.jury.commit(cid, v) for j, v in zip(jurors, votes, strict=False)]
    world.advance(world.rules.commit_duration)
    for j, v, s in zip(jurors, votes, salts, strict=False):
        j.jury.reveal(cid, v, s)
    world.advance(world.rules.reveal_duration)


def test_majority_in_favour_pays(world, dispute):
    claimant, jurors, cid = dispute
    vote(world, jurors, cid, [True, True, False])
    world.operator.claims.resolve_dispute(cid)
    assert claimant.claims.status(cid) == "Accepted"
    assert claimant.membership.state_of(claimant.address) == "PaidOut"
    with refused("CaseClosed"):
        jurors[3].jury.commit(cid, True)
    with refused("WrongStatus"):
        world.operator.claims.resolve_dispute(cid)
    with refused("UnknownCase"):
        jurors[3].jury.commit(cid + 1, True)


def test_exactly_half_in_favour_pays(world, dispute):
    claimant, jurors, cid = dispute
    vote(world, jurors, cid, [True, False, True, False])
    world.operator.claims.resolve_dispute(cid)
    assert claimant.claims.status(cid) == "Accepted"


def test_majority_against_denies(world, dispute):
    claimant, jurors, cid = dispute
    vote(world, jurors, cid, [False, False, True])
    world.operator.claims.resolve_dispute(cid)
    assert claimant.claims.status(cid) == "Denied"
    assert claimant.membership.state_of(claimant.address) == "Active"
    assert claimant.claims.submit(13, False, ROOT) == cid + 1  # free to claim again


def test_too_few_votes_runs_once_more_then_the_rejection_stands(world, dispute):
    claimant, jurors, cid = dispute
    vote(world, jurors[:2], cid, [True, True])
    with refused("CommitWindowClosed"):
        jurors[2].jury.commit(cid, True)
    world.operator.claims.resolve_dispute(cid)
    assert claimant.claims.status(cid) == "Disputed"
    assert claimant.claims.events("DisputeExtended", claimId=cid)
    with refused("AlreadyCommitted"):
        jurors[0].jury.commit(cid, True)  # revealed votes carry over; no second vote
    vote(world, jurors[2:3], cid, [True])  # now three valid votes
    world.operator.claims.resolve_dispute(cid)
    assert claimant.claims.status(cid) == "Accepted"


def test_still_too_few_after_the_extension_denies(world, dispute):
    claimant, jurors, cid = dispute
    vote(world, jurors[:1], cid, [True])
    world.operator.claims.resolve_dispute(cid)
    world.advance(world.rules.commit_duration + world.rules.reveal_duration)
    world.operator.claims.resolve_dispute(cid)
    assert claimant.claims.status(cid) == "Denied"
    assert claimant.claims.events("ClaimDenied", claimId=cid)[0]["args"]["verdict"] == 4  # TooFewVotes


def test_who_may_vote(world, dispute):
    claimant, jurors, cid = dispute
    with refused("ClaimantCannotVote"):
        claimant.jury.commit(cid, True)
    outsider = world.join()
    with refused("NotAQualifiedJuror"):
        outsider.jury.commit(cid, True)
    world.registrar.jury.qualify([outsider.address])
    with refused("JurorNotYetEligible"):
        outsider.jury.commit(cid, True)
    with refused("AccessControlUnauthorizedAccount"):
        world.operator.jury.qualify([world.operator.address])


def test_a_qualified_juror_must_be_an_active_member(world):
    claimant = world.join()
    newcomer = world.join()
    world.registrar.jury.qualify([newcomer.address])
    world.advance(world.rules.waiting_period + 1)
    late = world.join()  # qualified 30 days on, but still in their own waiting period
    world.registrar.jury.qualify([late.address])
    world.advance(world.rules.juror_delay)
    cid = claimant.claims.submit(12, False, ROOT)
    world.investigator.claims.reject(cid, REPORT)
    claimant.claims.dispute(cid)
    with refused("JurorNotActiveMember"):
        late.jury.commit(cid, True)
    newcomer.jury.commit(cid, True)


def test_commit_reveal_refusals(world, dispute):
    claimant, jurors, cid = dispute
    for mark in (b"\0" * 32, (1).to_bytes(32, "big")):  # nothing, and the mark a revealed vote leaves
        with refused("NotACommitment"):
            jurors[0].jury.commit_hash(cid, mark)
    salt = jurors[0].jury.commit(cid, True)
    assert not jurors[0].jury.revealed(cid, jurors[0].address)
    with refused("NotInRevealWindow"):
        jurors[0].jury.reveal(cid, True, salt)
    with refused("VoteNotOver"):
        world.operator.claims.resolve_dispute(cid)
    world.advance(world.rules.commit_duration)
    with refused("CommitmentMismatch"):
        jurors[0].jury.reveal(cid, False, salt)  # cannot change the vote after seeing others
    with refused("NothingCommitted"):
        jurors[1].jury.reveal(cid, True, salt)
    jurors[0].jury.reveal(cid, True, salt)
    with refused("AlreadyRevealed"):
        jurors[0].jury.reveal(cid, True, salt)
    assert jurors[0].jury.case(cid).inFavour == 1 and jurors[0].jury.revealed(cid, jurors[0].address)
    world.advance(DAY * 2)
    with refused("NotInRevealWindow"):
        jurors[0].jury.reveal(cid, True, salt)
