"""What tests use to run `hubao`: node processes (the application's own launcher, re-exported), the
dev chain's accounts, and a JSON-RPC call that keeps the error's code for assertions.

    with DevNode.start(tmp_path / "data") as node:      # hubao node run --dev on a free port
        w3 = Web3(Web3.HTTPProvider(node.url))
        ...
        node.kill()          # SIGKILL, like a crash
        node.restart()       # same datadir, same port

Importing it keeps the call worker of every node started from here on lazy (below).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from consortium.network.processes import HUBAO, DevNode, NodeProcess, free_port, wait_for_rpc
from node.calls.worker import WORKER_START

__all__ = ["DEV_ADDRESSES", "DEV_KEYS", "HUBAO", "ROOT", "DevNode", "NodeProcess", "cpu_seconds", "free_port",
           "hubao", "rpc", "wait_for_rpc"]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]

# Every node the harness and the suite start (they inherit this environment, `hubao net up`'s
# too) starts its call worker with its first call, as before `hubao node run` started it eagerly:
# most never get a call, and each eager one would cost a py-evm import. A test of the eager start
# sets HUBAO_CALL_WORKER_START=eager itself (tests/node/test_call_worker.py).
os.environ.setdefault(WORKER_START, "lazy")


def hubao(*args: str, timeout: float = 150, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`hubao ARGS...` to its end, output captured as text."""
    return subprocess.run([*HUBAO, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


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


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system, all threads) of this process, or of another one through /proc:
    what work costs a process, whatever else the machine's cores are doing meanwhile."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
