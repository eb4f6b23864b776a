"""The two nodes under test, started as processes on free loopback ports and stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from consortium.network.processes import DevNode, free_port

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


def _serving(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:
            return "result" in json.loads(reply.read())
    except OSError:
        return False


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        if _serving(url):
            return
        time.sleep(0.1)
    raise TimeoutError(f"no JSON-RPC at {url} after {timeout:.0f} s")


@contextlib.contextmanager
def _process(args: list[str], port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def hubao(workdir: Path) -> Iterator[str]:
    """`hubao node run --dev` (instant sealing) on a fresh datadir."""
    with DevNode.start(workdir / "hubao-data") as node:  # its log: hubao-data.log
        yield node.url


@contextlib.contextmanager
def anvil(workdir: Path) -> Iterator[str]:
    """anvil 1.7.1 from node_modules (`make build` installs it), recording steps for struct logs."""
    if not ANVIL.exists():
        raise RuntimeError(f"{ANVIL} is missing: run `make build`")
    port = free_port()
    args = [str(ANVIL), "--port", str(port), "--silent", "--steps-tracing"]
    with _process(args, port, workdir / "anvil.log") as url:
        yield url


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        yield Path(tmp)
