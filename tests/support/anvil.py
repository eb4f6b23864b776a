"""anvil (Foundry's dev node, pinned in package.json) as a real process: the independent node that
our client library and scripts are checked against."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

from harness.processes import free_port, wait_for_rpc

ANVIL = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "anvil"


@contextlib.contextmanager
def anvil(log_dir: Path, *args: str) -> Iterator[str]:
    """Start `anvil --port <free> --silent *args`, yield its URL, stop it on exit."""
    port = free_port()
    log = log_dir / f"anvil-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(ANVIL), "--port", str(port), "--silent", *args], stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_rpc(url, proc, timeout=30, log=log)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
