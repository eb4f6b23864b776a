"""Members' privacy on a chain every organisation reads: what Membership keeps, and what the
enroller's attestation puts in the joining transaction, does not give away a birth date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from consortium.client import TIER_UNDER_40, Attestation, identity_commitment, sign_attestation
from consortium.operator.enrollment import Applicant, eligibility
from tests.contracts.world import refused


def _midnight(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def test_two_members_born_weeks_apart_look_the_same_on_chain(world):
    """Born on 3 and 27 May 1990: the enroller's rules end the cover of both at 00:00 UTC on
    1 June 2050, and that is all the member record, the MemberJoined event and the joining
    transaction's attestation hold."""
    ends = _midnight(date(2050, 6, 1))
    for i, born in enumerate((date(1990, 5, 3), date(1990, 5, 27))):
        person = world.admin.as_(world.new_key())
        tier, cover_ends_at = eligibility(Applicant(person.address, f"ID-{i}", born, True), world.now())
        assert cover_ends_at == ends
        a = Attestation(
            person.address, identity_commitment(f"ID-{i}"), tier, cover_ends_at, world.now() + 3600
        )
        signature = sign_attestation(
            world.enroller.tx.account.key, a, world.w3.eth.chain_id, world.enroller.membership.address
        )
        receipt = person.membership.join(a, signature)
        joined = person.membership.in_receipt(receipt, "MemberJoined")[0]["args"]
        record = person.membership.call("memberOf", person.address)
        assert (
            joined["coverEndsAt"]
            == record[1]
            == person.membership.call("coverEndsAt", person.address)
            == ends
        )
        sent = bytes(world.w3.eth.get_transaction(receipt["transactionHash"])["input"])
        assert _midnight(born.replace(year=2050)).to_bytes(32, "big") not in sent


def test_an_attestation_that_would_reveal_a_birth_date_is_refused(world):
    """Even an enroller's signature cannot put a birthday on chain: only month ends are taken."""
    member = world.admin.as_(world.new_key())
    for cover_ends_at in (_midnight(date(2050, 5, 3)), _midnight(date(2050, 6, 1)) + 1):
        a = Attestation(
            member.address, identity_commitment("ID-X"), TIER_UNDER_40, cover_ends_at, world.now() + 3600
        )
        signature = sign_attestation(
            world.enroller.tx.account.key, a, world.w3.eth.chain_id, world.enroller.membership.address
        )
        with refused("CoverEndNotAtMonthEnd"):
            member.membership.join(a, signature)
    for start in (date(2048, 3, 1), date(2049, 1, 1), date(2400, 3, 1)):  # month starts it takes
        fresh = world.admin.as_(world.new_key())
        a = Attestation(fresh.address, identity_commitment(f"ID-{start}"), TIER_UNDER_40, _midnight(start),
                        world.now() + 3600)  # fmt: skip
        signature = sign_attestation(
            world.enroller.tx.account.key, a, world.w3.eth.chain_id, world.enroller.membership.address
        )
        fresh.membership.join(a, signature)
        assert fresh.membership.call("coverEndsAt", fresh.address) == _midnight(start)
