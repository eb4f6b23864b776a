"""The scale requirement in miniature: the same steps cost the same gas with 4 or 204 members
(scripts/bench_gas.py measures 100 / 1,000 / 10,000 on anvil)."""

from consortium.client import DAY, MAX_ALLOWANCE, TIER_UNDER_40, Attestation, identity_commitment
from consortium.operator.enrollment import month_start
from tests.contracts.world import REPORT, ROOT


def steps_gas(world, population: int) -> dict[str, int]:
    actors = world.join_many(3)
    if population:
        items = []
        for i in range(population):
            member = "0x" + identity_commitment(f"bystander {i}", b"")[:20].hex()
            identity = identity_commitment(f"id {i}", b"")
            ends = month_start(world.now() + 9000 * DAY)
            items.append((Attestation(member, identity, TIER_UNDER_40, ends, world.now() + DAY), None))
        for first in range(0, population, 100):  # 100 attestations fit a transaction's gas comfortably
            world.enroller.membership.enroll_batch(items[first : first + 100])
    world.advance(world.rules.waiting_period + 1)
    newcomer = world.admin.as_(world.new_key())
    a, sig = world.attest(newcomer.address)
    gas = {"join": newcomer.membership.join(a, sig, MAX_ALLOWANCE)["gasUsed"]}
    claimant, payer, debited = actors
    submitted = claimant.claims.send("submit", 5, False, ROOT)
    gas["submit"] = submitted["gasUsed"]
    cid = claimant.claims.in_receipt(submitted, "ClaimSubmitted")[0]["args"]["claimId"]
    gas["approve"] = world.investigator.claims.approve(cid, REPORT)["gasUsed"]
    world.advance(world.rules.notice_period)
    gas["finalize"] = world.operator.claims.finalize(cid)["gasUsed"]
    pool = world.operator.pool
    world.advance(pool.period_end(pool.open_period()) - world.now())
    while pool.period_end(pool.open_period() + 1) <= world.now():
        pool.close_period()  # empty periods first, so the measured close settles the case
    gas["settle"] = pool.close_period()["gasUsed"]
    gas["pay"] = payer.pool.pay()["gasUsed"]
    gas["collect"] = pool.collect([debited.address])["gasUsed"]
    return gas


def test_gas_does_not_depend_on_the_number_of_members(world):
    snapshot = world.tester.take_snapshot()
    few = steps_gas(world, 0)
    world.tester.revert_to_snapshot(snapshot)
    for s in (world.admin, world.operator, world.enroller, world.investigator, world.treasurer):
        s.tx.resync()
    world._count += 100
    many = steps_gas(world, 200)
    assert world.operator.pool.book().sharing >= 200
    for step, gas in few.items():
        assert abs(many[step] - gas) <= gas * 0.002, (step, gas, many[step])
