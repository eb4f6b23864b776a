"""One dev node process for the node tests, and the Probe contract compiled with the real solc."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import solcx
from web3 import Web3

from consortium.compiler import solc_binary
from tests.support.processes import ROOT, DevNode

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def probe_artifact() -> dict:
    """Compiled once per source text (wasm solc is slow to start), cached under build/."""
    source = (HERE / "Probe.sol").read_text()
    cache = ROOT / "build" / f"test-probe-{hashlib.sha256(source.encode()).hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Probe.sol": {"content": source}},
            "settings": {
                "evmVersion": "prague",
                "optimizer": {"enabled": True, "runs": 200},
                "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
            },
        },
        solc_binary=solc_binary(),
    )
    unit = out["contracts"]["Probe.sol"]["Probe"]
    artifact = {"abi": unit["abi"], "bytecode": "0x" + unit["evm"]["bytecode"]["object"]}
    cache.parent.mkdir(exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(artifact))
    tmp.replace(cache)
    return artifact


@pytest.fixture(scope="session")
def dev_node(tmp_path_factory):
    """`hubao node run --dev` (instant sealing) as a real process on a free port, shared by the
    node tests (each uses its own accounts or pending nonces, so order does not matter)."""
    node = DevNode.start(tmp_path_factory.mktemp("devnode") / "data")
    yield node
    node.stop()


@pytest.fixture(scope="session")
def w3(dev_node) -> Web3:
    return Web3(Web3.HTTPProvider(dev_node.url, request_kwargs={"timeout": 30}))


def dump(obj) -> str:
    return json.dumps(obj, indent=2, default=str)
