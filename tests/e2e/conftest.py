"""Live networks for the scenarios: one per network spec, shared by every scenario that uses it
(each leaves it healthy: the runner undoes its perturbations and checks the invariants). A scenario
that fails leaves its network behind; the next one gets a fresh network."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.network import Network, NetworkSpec
from tests.e2e.manifest import Manifest, load_all
from tests.e2e.runner import Runner

HERE = Path(__file__).parent


class Networks:
    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp = tmp_path_factory
        self.spec: NetworkSpec | None = None
        self.current: Runner | None = None

    def runner(self, spec: NetworkSpec) -> Runner:
        if self.current is not None and self.spec != spec:
            self.discard()
        if self.current is None:
            self.current, self.spec = Runner(Network.up(self.tmp.mktemp("e2e"), spec)), spec
        return self.current

    def discard(self) -> None:
        if self.current is not None:
            self.current.net.down()
        self.current = self.spec = None


@pytest.fixture(scope="module")
def networks(tmp_path_factory):
    pool = Networks(tmp_path_factory)
    yield pool
    pool.discard()


def scenarios(config: pytest.Config) -> list[Manifest]:
    """manifests/*.toml, in file order; with --soak-cycles N: N rounds of those and soak/*.toml, each
    round with the validators renamed by a seeded permutation."""
    regular = load_all(HERE / "manifests")
    cycles = config.getoption("soak_cycles")
    if not cycles:
        return sorted(regular, key=lambda m: repr(m.network))
    rng = random.Random(config.getoption("soak_seed"))
    every = regular + load_all(HERE / "soak")
    rounds = []
    for cycle in range(1, cycles + 1):
        for manifest in every:
            names = [f"validator-{i}" for i in range(manifest.network.validators)]
            mapping = dict(zip(names, rng.sample(names, len(names)), strict=True))
            rounds.append(manifest.renamed(mapping, f"-cycle{cycle}"))
    return rounds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" in metafunc.fixturenames:
        found = scenarios(metafunc.config)
        metafunc.parametrize("scenario", found, ids=[m.name for m in found])
