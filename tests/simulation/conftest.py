"""A network for `hubao simulate` tests: 4 validators and a member node as OS processes on
loopback, with the movable clock the simulator steps. Each test file starts its own, so the files
run on different xdist workers (`make test`: --dist loadfile)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from consortium.network.layout import free_base_port
from harness.processes import HUBAO


def hubao(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*HUBAO, *args], capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def sim_network(root: Path, users: int) -> Iterator[Path]:
    """`net init --movable-clock` and `net up` in `root`; `net down` on exit."""
    init = hubao("net", "init", "--validators", "4", "--members", "1", "--dir", str(root),
                 "--base-port", str(free_base_port(5)), "--movable-clock", "--timescale", "60",
                 "--block-period", "0.1", "--users", str(users))  # fmt: skip
    assert init.returncode == 0, init.stderr
    up = hubao("net", "up", "--dir", str(root), "--timeout", "60")
    try:
        assert up.returncode == 0, up.stderr
        yield root
    finally:
        hubao("net", "down", "--dir", str(root))
