"""Many view calls in one eth_call (contracts/client/Multiread.sol, put in place by eth_call's state
override): the same answers as one eth_call each, on our node and on anvil, and a read that
reverts raises naming what was read instead of passing a wrong value on."""

from __future__ import annotations

import pytest
from web3 import Web3

from consortium.client import Transactor
from consortium.client.bound import READS_PER_CALL, multiread
from harness.processes import DEV_KEYS, DevNode
from tests.support.anvil import anvil
from tests.support.solidity import compile_source

SQUARES = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Squares {
    function square(uint256 x) external pure returns (uint256) {
        require(x != 13, "unlucky");
        return x * x;
    }
}
"""


@pytest.fixture(scope="module")
def squares() -> dict:
    return compile_source(SQUARES, "Squares")


def deployed(url: str, artifact: dict):
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = Transactor(w3, DEV_KEYS[0]).send(factory.constructor(), gas=500_000)
    return w3, w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def check(url: str, artifact: dict) -> None:
    w3, contract = deployed(url, artifact)
    xs = [x for x in range(2 * READS_PER_CALL + 7) if x != 13]  # three eth_calls, the last one short
    calldata = [contract.encode_abi("square", [x]) for x in xs]
    got = [int(raw, 16) for raw in multiread(w3, contract.address, calldata)]
    assert got == [x * x for x in xs]
    assert got[:5] == [contract.functions.square(x).call() for x in xs[:5]]
    with pytest.raises(RuntimeError, match="squares: a read reverted"):
        multiread(w3, contract.address, calldata[:20] + [contract.encode_abi("square", [13])], "squares")


def test_many_reads_in_one_call_on_our_node(tmp_path, squares):
    with DevNode.start(tmp_path / "data") as node:
        check(node.url, squares)


def test_many_reads_in_one_call_on_anvil(tmp_path, squares):
    with anvil(tmp_path) as url:
        check(url, squares)
