"""The one send pipeline (consortium/client/tx.py) against a real dev node: a batch of many
senders' transactions goes out in one JSON-RPC round trip, one sender's land in nonce order, their
receipts are found together, and a failure comes back named by its own revert reason."""

from __future__ import annotations

import pytest
from web3 import Web3

from consortium.client import Batch, ContractRefusal, Transactor, wait_all
from consortium.client.tx import SCAN_BLOCKS
from harness.processes import DEV_KEYS, DevNode
from tests.support.solidity import compile_source

pytestmark = pytest.mark.process

SEQUENCE = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract Sequence {
    uint256 public next;
    function put(uint256 n) external {
        require(n == next, "out of order");
        next = n + 1;
    }
}
"""


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A dev node sealing every 0.2 s, and the Sequence contract on it."""
    node = DevNode.start(tmp_path_factory.mktemp("pipeline") / "data", block_time=0.2)
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        built = compile_source(SEQUENCE, "Sequence")
        deployer = Transactor(w3, DEV_KEYS[0])
        factory = w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
        address = deployer.send(factory.constructor(), gas=300_000)["contractAddress"]
        yield w3, w3.eth.contract(address=address, abi=built["abi"])
    finally:
        node.stop()


def test_one_senders_batch_lands_in_nonce_order_and_a_refusal_is_named(chain):
    """Thirty puts from one sender succeed only in nonce order; another sender's put of 0 in the
    same batch is refused by the contract, named from its receipt, and the rest still land."""
    w3, seq = chain
    first, second = Transactor(w3, DEV_KEYS[1]), Transactor(w3, DEV_KEYS[2])
    start = seq.functions.next().call()
    batch = Batch()
    tickets = [batch.add(first, seq.functions.put(start + i), 60_000) for i in range(30)]
    late = batch.add(second, seq.functions.put(start), 60_000, label="late put")
    results = batch.run(timeout=60)
    assert [results[t]["status"] for t in tickets] == [1] * 30
    assert isinstance(results[late], ContractRefusal)
    assert results[late].name == "Error" and results[late].args_ == ("out of order",)
    assert seq.functions.next().call() == start + 30
    assert len({r["blockNumber"] for r in results[:30]}) <= 3  # one batch: a block or so, not thirty


def test_a_transaction_sent_long_before_it_is_awaited_is_still_found(chain):
    """Receipts are read block by block from when a transaction was sent; one awaited after more
    than SCAN_BLOCKS blocks is looked up by its hash instead."""
    w3, seq = chain
    sender = Transactor(w3, DEV_KEYS[3])
    early = sender.send(seq.functions.next(), gas=50_000, wait=False)
    landed = early.wait(30)["blockNumber"]
    early.after = landed - SCAN_BLOCKS - 5  # as if sent that long ago
    (again,) = wait_all([early], timeout=30)
    assert again["blockNumber"] == landed and again["transactionHash"] == early.hash


def test_a_refused_send_passes_through_and_strict_raises_it(chain):
    """A transaction the node refuses outright (a nonce already used) comes back as the error,
    not as something to wait for; strict waiting raises the first failure."""
    w3, seq = chain
    sender = Transactor(w3, DEV_KEYS[0])
    used = sender.next_nonce()
    sender.resync()
    sender.send(seq.functions.next(), gas=50_000)
    sender._nonce = used  # the nonce the node already holds a transaction for
    batch = Batch()
    batch.add(sender, seq.functions.next(), 50_000, label="reused nonce")
    (refused,) = batch.run(timeout=10)
    assert isinstance(refused, Exception) and "reused nonce" in str(refused)
    with pytest.raises(type(refused)):
        wait_all([refused])
