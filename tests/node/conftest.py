"""One dev node process for the node tests, and the Probe contract compiled with the real solc."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from consortium.compiler import compile_source
from harness.processes import DevNode

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def probe_artifact() -> dict:
    return compile_source((HERE / "Probe.sol").read_text(), "Probe")


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
