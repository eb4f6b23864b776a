"""Fixtures: one deployed world per test module, rolled back to a snapshot after each test."""

import pytest

from tests.contracts.world import World, make_world


@pytest.fixture(scope="module")
def base_world() -> World:
    return make_world()


@pytest.fixture
def world(base_world: World):
    """The module's world, rolled back after each test."""
    snapshot = base_world.tester.take_snapshot()
    count, members = base_world._count, list(base_world.members)
    yield base_world
    base_world.tester.revert_to_snapshot(snapshot)
    base_world.members = members
    for suite in [base_world.admin, base_world.operator, base_world.enroller, base_world.investigator,
                  base_world.registrar, base_world.treasurer, *base_world.orgs]:  # fmt: skip
        suite.tx.resync()
    base_world._count = count + 1000  # fresh keys: nonces of rolled-back members are not reused
