"""Start real `hubao` node processes for tests and wait until they serve JSON-RPC.

    with DevNode.start(tmp_path / "data") as node:      # hubao node run --dev on a free port
        w3 = Web3(Web3.HTTPProvider(node.url))
        ...
        node.kill()          # SIGKILL, like a crash
        node.restart()       # same datadir, same port

`rpc(url, method, *params)` is a dependency-free JSON-RPC call for quick checks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUBAO = [sys.executable, "-m", "consortium.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, *params, timeout: float = 30.0):
    """One JSON-RPC call; returns the result or raises RuntimeError(code, message, data)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        reply = json.loads(resp.read())
    if "error" in reply:
        err = reply["error"]
        raise RuntimeError(err.get("code"), err.get("message"), err.get("data"))
    return reply["result"]


def wait_for_rpc(
    url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"node exited with {proc.returncode} before serving:\n{tail}")
        try:
            rpc(url, "eth_blockNumber", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, OSError, RuntimeError):
            time.sleep(0.1)
    raise TimeoutError(f"no JSON-RPC at {url} after {timeout}s")


class NodeProcess:
    """A `hubao` subprocess with its log file; kill/restart keep the same command line."""

    def __init__(self, args: list[str], port: int, log_path: Path, host: str = "127.0.0.1") -> None:
        self.args = args
        self.port = port
        self.host = host
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def launch(self, timeout: float = 60.0) -> NodeProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child owns it)
        self.proc = subprocess.Popen(
            HUBAO + self.args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env
        )
        log.close()
        wait_for_rpc(self.url, self.proc, timeout, self.log_path)
        return self

    def rpc(self, method: str, *params):
        return rpc(self.url, method, *params)

    def kill(self) -> None:
        """SIGKILL: no cleanup, like a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def restart(self, timeout: float = 60.0) -> NodeProcess:
        self.stop()
        return self.launch(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class DevNode(NodeProcess):
    @classmethod
    def start(
        cls,
        datadir: str | Path,
        port: int | None = None,
        block_time: float | None = None,
        extra: list[str] = (),
    ) -> DevNode:
        datadir = Path(datadir)
        datadir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        args = ["node", "run", "--dev", "--port", str(port), "--datadir", str(datadir), *extra]
        if block_time:
            args += ["--block-time", str(block_time)]
        node = cls(args, port, datadir.parent / f"{datadir.name}.log")
        return node.launch()


# The anvil/hardhat accounts of the dev chain (m/44'/60'/0'/0/i of the "test ... junk" mnemonic).
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]
DEV_ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
]
