"""A failed transaction is named from its own execution at its place in its block (issue 11).

Two transactions in one block: the first takes the contract's only slot, so the second reverts;
replayed alone on the parent block the second would succeed. Our node records the revert data
(Besu's `revertReason` in the receipt); against anvil, which records none, the client replays the
transaction at its position with `debug_traceTransaction`.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from consortium.client import ContractRefusal, Transactor
from harness.processes import DEV_KEYS, DevNode
from tests.support.anvil import anvil
from tests.support.solidity import compile_source

ONCE = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Once {
    address public taker;
    function take() external {
        require(taker == address(0), "already taken");
        taker = msg.sender;
    }
}
"""


@pytest.fixture(scope="module")
def once() -> dict:
    return compile_source(ONCE, "Once")


@pytest.fixture(scope="module")
def manual_dev_node(tmp_path_factory):
    """A dev node whose interval never fires during the test: blocks come from evm_mine."""
    node = DevNode.start(tmp_path_factory.mktemp("manual") / "data", block_time=3600)
    yield node.url
    node.stop()


@pytest.fixture(scope="module")
def manual_anvil(tmp_path_factory):
    with anvil(tmp_path_factory.mktemp("anvil"), "--no-mining") as url:
        yield url


def _race(url: str, once: dict):
    """Deploy Once, then send two take() in one block; returns (w3, contract, first, second)."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    first, second = Transactor(w3, DEV_KEYS[0]), Transactor(w3, DEV_KEYS[1])
    factory = w3.eth.contract(abi=once["abi"], bytecode=once["bytecode"])
    deploying = first.send(factory.constructor(), gas=300_000, wait=False)
    w3.provider.make_request("evm_mine", [])
    address = deploying.wait()["contractAddress"]
    contract = w3.eth.contract(address=address, abi=once["abi"])
    a = first.send(contract.functions.take(), gas=100_000, wait=False)
    b = second.send(contract.functions.take(), gas=100_000, wait=False)
    w3.provider.make_request("evm_mine", [])
    return w3, contract, a, b


@pytest.mark.process  # its node fixture is chosen at run time, out of the bucket rules' sight
@pytest.mark.parametrize("node", ["manual_dev_node", "manual_anvil"])
def test_the_second_of_two_racing_transactions_is_named_by_its_own_revert(node, once, request):
    w3, contract, a, b = _race(request.getfixturevalue(node), once)
    receipt_a = a.wait()
    with pytest.raises(ContractRefusal) as refused:
        b.wait()
    assert refused.value.name == "Error" and refused.value.args_ == ("already taken",)
    raw = w3.provider.make_request("eth_getTransactionReceipt", [b.hash.to_0x_hex()])["result"]
    assert raw["blockNumber"] == hex(receipt_a["blockNumber"]) and raw["status"] == "0x0"
    # replayed alone on the block before, the losing transaction would have succeeded
    parent = receipt_a["blockNumber"] - 1
    contract.functions.take().call({"from": b.tx["from"]}, block_identifier=parent)
    if node == "manual_dev_node":
        reason = bytes.fromhex(raw["revertReason"][2:])
        assert reason[:4] == bytes.fromhex("08c379a0") and b"already taken" in reason
        ok = w3.provider.make_request("eth_getTransactionReceipt", [a.hash.to_0x_hex()])["result"]
        assert "revertReason" not in ok
