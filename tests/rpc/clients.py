"""The clients users reach the node with, for tests/rpc: Foundry's cast, ethers v6 (a script run
by the project's Node.js), and the contracts the tests call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.processes import ROOT, DevNode
from tests.support.solidity import compile_source

HERE = Path(__file__).parent
CAST = str(ROOT / "node_modules" / ".bin" / "cast")
NODE_ENV = {"NODE_PATH": str(ROOT / "node_modules"), "PATH": "/usr/bin:/bin:/usr/local/bin"}


def cast(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    """Run cast; with `ok` it must succeed (its output is in the assertion if not)."""
    out = subprocess.run([CAST, *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out


def ethers(tmp_path: Path, script: str, *args: str) -> dict:
    """Run an ethers v6 script (it prints one JSON object) with `args` as process.argv[2:]."""
    path = tmp_path / "script.js"
    path.write_text(script)
    out = subprocess.run(
        ["node", str(path), *args], capture_output=True, text=True, timeout=120, env=NODE_ENV
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def calls_artifact() -> dict:
    return compile_source((HERE / "Calls.sol").read_text(), "Calls")


def own_node(name: str):
    """The `node` and `w3` fixtures of a test module with a dev node of its own (a module that
    changes what others read): `node, w3 = own_node("reads")` at module level."""

    @pytest.fixture(scope="module", name="node")
    def node_fixture(tmp_path_factory):
        node = DevNode.start(tmp_path_factory.mktemp(name) / "data")
        yield node
        node.stop()

    @pytest.fixture(scope="module", name="w3")
    def w3_fixture(node):
        return web3_for(node)

    return node_fixture, w3_fixture


def web3_for(node):
    from web3 import Web3

    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))


def deploy_calls(w3, sender: str):
    """Calls.sol deployed by `sender` (an unlocked dev account), as a web3 contract."""
    artifact = calls_artifact()
    tx_hash = w3.eth.send_transaction({"from": sender, "data": artifact["bytecode"]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    return w3.eth.contract(receipt.contractAddress, abi=artifact["abi"])
