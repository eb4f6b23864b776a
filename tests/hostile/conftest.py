"""What the hostile tests share: a small consortium of real node processes (4 validators and a
member, `hubao net init` + `net up`), started once for the gossip, sync and allowlist attacks.

member-0 runs with a lenient `[limits] tx_gas_cap` in its node.toml: it admits what the validators
refuse, so its gossip is how an over-cap transaction reaches them (as from a peer configured
otherwise, or a modified one). The tests that use the network run after the dev-node ones, so
its five processes do not share the CPU with the dev nodes' latency measurements.
"""

from __future__ import annotations

import contextlib
import json
import time
import tomllib

import pytest
import tomli_w

from consortium.network.layout import free_base_port
from harness.network import Network
from harness.probes import LatencyProbe
from harness.processes import hubao

BLOCK_PERIOD = 0.5
LENIENT_GAS_CAP = 30_000_000  # member-0's [limits] tx_gas_cap
HONEST_P99 = 0.2  # seconds: the honest client's eth_blockNumber, during and after an attack
HONEST_SAMPLES = 150  # answers at least, so that p99 is not simply the slowest one


@contextlib.contextmanager
def honest_client(url: str, after: bool = True):
    """An honest client asking `eth_blockNumber` every 20 ms while the attack runs and, with
    `after`, once it is over until it has HONEST_SAMPLES answers (at most 10 s more)."""
    with LatencyProbe(url, interval=0.02) as probe:
        yield probe
        deadline = time.monotonic() + 10
        while after and len(probe.latencies) + probe.errors < HONEST_SAMPLES and time.monotonic() < deadline:
            time.sleep(0.05)


def answered_honestly(probe, errors_allowed: bool = False) -> bool:
    """The honest client was answered every time, 99% of them within HONEST_P99 (else: say how)."""
    slowest = [round(t, 3) for t in sorted(probe.latencies)[-5:]]
    assert errors_allowed or probe.errors == 0, f"{probe.errors} honest calls failed"
    assert probe.p99() < HONEST_P99, f"p99 {probe.p99():.3f} s of {len(probe.latencies)}, slowest {slowest}"
    return True


@pytest.fixture(scope="session")
def consortium(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-net")
    init = hubao(
        "net", "init", "--validators", "4", "--members", "1", "--dir", str(root), "--users", "6",
        "--base-port", str(free_base_port(5)), "--block-period", str(BLOCK_PERIOD),
        "--empty-block-period", "0",
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    member_toml = root / "member-0" / "node.toml"
    config = tomllib.loads(member_toml.read_text())
    config["limits"] = {"tx_gas_cap": LENIENT_GAS_CAP}
    member_toml.write_text(tomli_w.dumps(config))
    up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90")
    net = Network(root)  # no proxies: every node dials the others directly
    try:
        assert up.returncode == 0, up.stderr + (root / "validator-0" / "node.log").read_text()[-3000:]
        net.started = {row["name"]: row for row in json.loads(up.stdout)}
        yield net
    finally:
        net.down()


def pytest_collection_modifyitems(items) -> None:
    """Within tests/hostile, the consortium's tests last (the order is otherwise kept)."""
    here = [i for i, item in enumerate(items) if "tests/hostile/" in str(item.path)]
    ours = [items[i] for i in here]
    ordered = sorted(ours, key=lambda item: "consortium" in getattr(item, "fixturenames", ()))
    for i, item in zip(here, ordered, strict=True):
        items[i] = item
