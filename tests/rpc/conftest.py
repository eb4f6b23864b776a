"""A dev node process with a history to trace and prove (tests/rpc/history.py)."""

from __future__ import annotations

import pytest
from web3 import Web3

from harness.processes import DevNode
from tests.rpc.clients import web3_for
from tests.rpc.history import History, make_history


@pytest.fixture(scope="session")
def node(tmp_path_factory):
    node = DevNode.start(tmp_path_factory.mktemp("rpc") / "data")  # shared by tests/rpc
    yield node
    node.stop()


@pytest.fixture(scope="session")
def w3(node) -> Web3:
    return web3_for(node)


@pytest.fixture(scope="session")
def history(w3) -> History:
    return make_history(w3)
