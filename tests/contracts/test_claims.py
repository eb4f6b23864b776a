"""A claim from submission to payout, every way it can be refused, and public notice."""

import pytest

from consortium.client import DAY, ContractRefusal
from consortium.wallet.words import explain
from tests.contracts.world import REPORT, ROOT, refused


@pytest.fixture
def crowd(world):
    """Four members past their waiting period."""
    members = world.join_many(4)
    world.advance(world.rules.waiting_period + 1)
    return members


def test_approved_claim_after_notice_is_paid_and_ends_the_membership(world, crowd):
    claimant, *others = crowd
    cid = claimant.claims.submit(7, False, ROOT)
    assert claimant.claims.status(cid) == "UnderReview"
    assert claimant.claims.claim(cid).evidenceRoot == ROOT
    world.investigator.claims.approve(cid, REPORT)
    assert claimant.claims.status(cid) == "InNotice"
    with refused("NoticeNotOver"):
        others[0].claims.finalize(cid)
    world.advance(world.rules.notice_period)
    others[0].claims.finalize(cid)  # anyone may finalize
    assert claimant.claims.status(cid) == "Accepted"
    assert claimant.membership.state_of(claimant.address) == "PaidOut"
    world.close_due_periods()
    world.operator.pool.collect([m.address for m in others])
    world.operator.pool.disburse()
    cover = world.rules.cover_under_40
    assert claimant.token.balance_of(claimant.address) == 1_000_000 + cover
    assert claimant.token.balance_of(world.treasury) == cover * world.rules.fee_bps // 10_000
    assert claimant.pool.owed(claimant.address) == 0
    with refused("NotInPlan"):
        claimant.claims.submit(7, False, ROOT)


def test_illness_in_waiting_period_is_refused_on_record_and_ends_the_membership(world):
    m = world.join()
    receipt = m.claims.send("submit", 3, False, ROOT)
    assert receipt["status"] == 1  # the refusal is recorded, not reverted
    refusal = m.claims.in_receipt(receipt, "ClaimRefusedInWaitingPeriod")[0]["args"]
    assert m.claims.status(refusal["claimId"]) == "RefusedInWaitingPeriod"
    assert m.membership.state_of(m.address) == "EndedInWaitingPeriod"
    assert m.membership.events("MembershipEnded", member=m.address)[-1]["args"]["reason"] == 5
    with refused("NotInPlan"):
        m.claims.submit(3, False, ROOT)


def test_accidents_are_exempt_from_the_waiting_period(world):
    m = world.join()
    cid = m.claims.submit(3, True, ROOT)
    assert m.claims.status(cid) == "UnderReview"
    assert m.membership.state_of(m.address) == "Waiting"


def test_submission_refusals(world, crowd):
    m = crowd[0]
    with refused("IllnessNotCovered"):
        m.claims.submit(0, False, ROOT)
    with refused("IllnessNotCovered"):
        m.claims.submit(101, False, ROOT)
    stranger = world.admin.as_(world.new_key())
    with refused("NotInPlan"):
        stranger.claims.submit(1, False, ROOT)
    cid = m.claims.submit(100, False, ROOT)
    with pytest.raises(ContractRefusal) as err:
        m.claims.submit(1, False, ROOT)
    assert err.value.name == "ClaimAlreadyOpen" and err.value.args_[1] == cid


def test_cover_expired_at_sixty_cannot_claim(world):
    m = world.join(cover_ends_in=world.rules.waiting_period + 2 * DAY)
    world.advance(world.rules.waiting_period + 3 * DAY)
    with refused("CoverExpired"):
        m.claims.submit(1, False, ROOT)


def test_only_an_investigator_reviews_and_only_from_review(world, crowd):
    cid = crowd[0].claims.submit(1, False, ROOT)
    with refused("AccessControlUnauthorizedAccount"):
        world.operator.claims.approve(cid, REPORT)
    world.investigator.claims.approve(cid, REPORT)
    with refused("WrongStatus"):
        world.investigator.claims.approve(cid, REPORT)
    with refused("UnknownClaim"):
        world.investigator.claims.reject(99, REPORT)


def test_an_objection_sends_the_case_back_to_review(world, crowd):
    claimant, objector, *_ = crowd
    newcomer = world.join()
    cid = claimant.claims.submit(9, False, ROOT)
    world.investigator.claims.approve(cid, REPORT)
    with refused("ClaimantCannotObject"):
        claimant.claims.object(cid, b"\x33" * 32)
    with refused("StillInWaitingPeriod"):
        newcomer.claims.object(cid, b"\x33" * 32)
    with refused("NotAnActiveMember"):
        world.operator.claims.object(cid, b"\x33" * 32)
    objector.claims.object(cid, b"\x33" * 32)
    assert claimant.claims.status(cid) == "UnderReview"
    ev = claimant.claims.events("ClaimObjected", claimId=cid)[0]["args"]
    assert ev["objector"] == objector.address and ev["evidenceHash"] == b"\x33" * 32
    world.investigator.claims.approve(cid, REPORT)  # reviewed again, new notice
    world.advance(world.rules.notice_period)
    with refused("NoticeOver"):
        objector.claims.object(cid, b"\x44" * 32)
    claimant.claims.finalize(cid)
    assert claimant.claims.status(cid) == "Accepted"


def test_each_member_objects_once_per_claim_so_no_one_delays_a_payout_for_ever(world, crowd):
    """An objection sends the case back to review and restarts the notice; the same member cannot do
    it again on that claim (a second member still can), and the claim is paid in the end."""
    claimant, first, second, _ = crowd
    cid = claimant.claims.submit(9, False, ROOT)
    world.investigator.claims.approve(cid, REPORT)
    first.claims.object(cid, b"\x33" * 32)
    assert claimant.claims.has_objected(cid, first.address)
    assert not claimant.claims.has_objected(cid, second.address)
    world.investigator.claims.approve(cid, REPORT)
    with refused("AlreadyObjected") as err:
        first.claims.object(cid, b"\x44" * 32)
    assert err.value.args_ == (cid, first.address)
    assert explain(err.value) == (
        f"you already objected to claim #{cid}: each member may object once per claim"
    )
    assert claimant.claims.status(cid) == "InNotice"  # the refused objection changed nothing
    second.claims.object(cid, b"\x55" * 32)
    world.investigator.claims.approve(cid, REPORT)
    for objector in (first, second):
        with refused("AlreadyObjected"):
            objector.claims.object(cid, b"\x66" * 32)
    world.advance(world.rules.notice_period)
    claimant.claims.finalize(cid)
    assert claimant.claims.status(cid) == "Accepted"
    assert len(claimant.claims.events("ClaimObjected", claimId=cid)) == 2


def test_a_rejection_stands_when_not_disputed_in_time(world, crowd):
    claimant = crowd[0]
    cid = claimant.claims.submit(9, False, ROOT)
    world.investigator.claims.reject(cid, REPORT)
    with refused("ClaimAlreadyOpen"):
        claimant.claims.submit(9, False, ROOT)  # still disputable: the claim is open
    with refused("NotTheClaimant"):
        crowd[1].claims.dispute(cid)
    world.advance(world.rules.dispute_window)
    with refused("DisputeWindowClosed"):
        claimant.claims.dispute(cid)
    assert claimant.claims.submit(9, False, ROOT) == cid + 1


def test_a_member_with_overdue_shares_cannot_claim(world):
    poor = world.join(balance=0)
    claimant = world.join()
    world.advance(world.rules.waiting_period + 1)
    cid = claimant.claims.submit(1, False, ROOT)
    world.investigator.claims.approve(cid, REPORT)
    world.advance(world.rules.notice_period)
    claimant.claims.finalize(cid)
    world.close_due_periods()
    assert poor.pool.owed(poor.address) > 0
    assert not poor.pool.is_defaulter(poor.address)  # within the grace: still in good standing
    world.advance(world.rules.grace_period)
    assert poor.pool.is_defaulter(poor.address)
    with refused("SharesOverdue"):
        poor.claims.submit(3, False, ROOT)


def test_the_command_line_knows_the_catalogue_of_illnesses(world):
    """`hubao wallet claim submit --illness` refuses, before sending, exactly the codes Claims does."""
    from consortium.cli_types import ILLNESS

    assert world.operator.claims.call("ILLNESS_CODES") == ILLNESS.high and ILLNESS.low == 1
