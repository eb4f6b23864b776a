"""Joining by attestation, one person one membership, batch enrolment, leaving, age 60."""

from consortium.client import DAY, MAX_ALLOWANCE, TIER_40_TO_59, Attestation, sign_attestation
from tests.contracts.world import YEAR, refused


def test_join_is_free_and_starts_with_the_waiting_period(world):
    m = world.join(balance=0, mandate=False)
    assert m.token.balance_of(m.address) == 0  # nothing paid to join
    assert m.membership.state_of(m.address) == "Waiting"
    assert m.pool.owed(m.address) == 0
    world.advance(world.rules.waiting_period + 1)
    assert m.membership.state_of(m.address) == "Active"
    joined = m.membership.events("MemberJoined", member=m.address)[0]["args"]
    assert joined["coverAmount"] == world.rules.cover_under_40


def test_python_attestation_digest_matches_the_contract(world):
    a, _ = world.attest(world.operator.address)
    from consortium.client.signing import attestation_digest

    assert world.operator.membership.attestation_digest(a) == attestation_digest(
        a, world.w3.eth.chain_id, world.operator.membership.address
    )


def test_tier_two_covers_the_lower_amount(world):
    m = world.join(tier=TIER_40_TO_59)
    assert m.membership.call("coverAmountOf", m.address) == world.rules.cover_40_to_59


def test_python_mandate_digest_matches_the_contract(world):
    from consortium.client.signing import mandate_digest

    m = world.operator.membership
    member = world.admin.address
    assert m.mandate_digest(member, 18_800, 2**40) == mandate_digest(
        member, 18_800, 2**40, world.w3.eth.chain_id, m.address
    )


def test_attestation_refusals(world):
    m = world.admin.as_(world.new_key())
    other = world.admin.as_(world.new_key())
    a, sig = world.attest(m.address)
    with refused("AttestationForAnotherMember"):
        other.membership.join(a, sig)
    forged = sign_attestation(m.tx.account.key, a, world.w3.eth.chain_id, m.membership.address)
    with refused("NotSignedByEnroller"):
        m.membership.join(a, forged)
    bad_tier, sig3 = world.attest(m.address, tier=3)
    with refused("UnknownTier"):
        m.membership.join(bad_tier, sig3)
    too_old, sig4 = world.attest(m.address, cover_ends_in=-1)
    with refused("CoverAlreadyEnded"):
        m.membership.join(too_old, sig4)
    world.advance(2 * DAY)
    with refused("AttestationExpired"):
        m.membership.join(a, sig)


def test_one_person_one_membership(world):
    m = world.join()
    a, sig = world.attest(m.address)
    with refused("AlreadyAMember"):
        m.membership.join(a, sig)
    twin = world.admin.as_(world.new_key())
    same_person = m.membership.events("MemberJoined", member=m.address)[0]["args"]["identity"]
    a2, sig2 = world.attest(twin.address, identity=same_person)
    with refused("IdentityAlreadyUsed"):
        twin.membership.join(a2, sig2)


def test_enroll_batch_with_mandates_gives_auto_debit_without_member_transactions(world):
    people = [world.admin.as_(world.new_key()) for _ in range(3)]
    items = []
    for i, p in enumerate(people):
        world.treasurer.token.mint(p.address, 500)
        a, _ = world.attest(p.address)
        items.append((a, world.mandate(p, limit=MAX_ALLOWANCE if i else 300)))
    world.enroller.membership.enroll_batch(items)
    for p in people:
        assert p.membership.state_of(p.address) == "Waiting"
        assert p.w3.eth.get_transaction_count(p.address) == 0  # the member sent nothing
    assert [world.operator.pool.mandate_of(p.address) for p in people] == [300, MAX_ALLOWANCE, MAX_ALLOWANCE]
    assert world.operator.pool.book().sharing >= 3


def test_a_mandate_limits_auto_debit_and_the_member_may_change_it(world):
    """Auto-debit takes at most the mandate, which each debit uses up; the member's own
    `setMandate` changes it (0 stops auto-debit)."""
    p = world.admin.as_(world.new_key())
    world.treasurer.token.mint(p.address, 1_000_000)
    a, _ = world.attest(p.address)
    world.enroller.membership.enroll_batch([(a, world.mandate(p, limit=200_000))])
    claimant, later = world.join(), world.join()
    world.advance(world.rules.waiting_period + 1)
    world.accept_claim(claimant)
    world.close_open_period()
    pool, owed = world.operator.pool, p.pool.owed(p.address)
    assert 0 < owed <= 200_000 < owed + 190_000
    pool.collect([p.address], 190_000)  # the top-up is over the mandate: just the dues
    assert p.pool.owed(p.address) == 0 and pool.mandate_of(p.address) == 200_000 - owed
    p.pool.set_mandate(0)
    assert pool.events("MandateSet", member=p.address)[0]["args"]["mandate"] == 0
    world.accept_claim(later)
    world.close_open_period()
    receipt = pool.collect([p.address])
    assert pool.in_receipt(receipt, "DebitFailed")[0]["args"]["member"] == p.address


def test_enroll_batch_refusals(world):
    p = world.admin.as_(world.new_key())
    a, _ = world.attest(p.address)
    with refused("AccessControlUnauthorizedAccount"):
        world.operator.membership.enroll_batch([(a, None)])
    forged = world.mandate(world.admin.as_(world.new_key()))  # signed by someone else
    with refused("MandateNotSignedByMember"):
        world.enroller.membership.enroll_batch([(a, forged)])
    stale = world.mandate(p)
    world.advance(2 * DAY)
    with refused("MandateExpired"):
        world.enroller.membership.enroll_batch([(a, stale)])
    world.enroller.membership.enroll_batch([(a, None)])
    with refused("AlreadyAMember"):
        world.enroller.membership.enroll_batch([(a, None)])


def test_exit_ends_cover_and_refuses_a_second_exit(world):
    m = world.join()
    m.membership.exit()
    assert m.membership.state_of(m.address) == "Exited"
    with refused("NotInPlan"):
        m.membership.exit()
    stranger = world.admin.as_(world.new_key())
    with refused("NotAMember"):
        stranger.membership.exit()


def test_cover_ends_at_sixty_by_anyones_call(world):
    m = world.join(cover_ends_in=YEAR)
    sharing = world.operator.pool.book().sharing
    with refused("CoverNotEnded"):
        world.operator.membership.end_cover(m.address)
    world.advance(YEAR + 1)
    assert m.membership.state_of(m.address) == "CoverExpired"
    world.operator.membership.end_cover(m.address)
    assert m.membership.state_of(m.address) == "CoverEnded"
    assert world.operator.pool.book().sharing == sharing - 1


def test_attestation_dataclass_round_trip():
    a = Attestation("0x" + "11" * 20, b"\1" * 32, 1, 2, 3)
    assert a.as_tuple()[2:] == (1, 2, 3)
