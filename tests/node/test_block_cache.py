"""Receipts of many transactions in one block, as a simulator polls them in JSON-RPC batches.

The node keeps recent blocks and their receipts decoded by block hash, so each receipt must still
carry its own index, cumulative gas and log indexes -- also after evm_revert puts a different block
(holding some of the same transactions at other positions) at the same height.
"""

from __future__ import annotations

import pytest
import requests
from eth_account import Account
from eth_utils import to_checksum_address

from harness.processes import DevNode, rpc
from node.genesis import dev_accounts

SENDERS = 24
KEYS = [key for _, key in dev_accounts(SENDERS)]
# Init code returning a runtime that emits two LOG1(topic = caller) per call, then stops.
RUNTIME = "3360006000a13360006000a100"
INIT = "0x600d80600b6000396000f3" + RUNTIME


def batch(url: str, method: str, calls: list[list]) -> list:
    body = [{"jsonrpc": "2.0", "id": i, "method": method, "params": p} for i, p in enumerate(calls)]
    replies = requests.post(url, json=body, timeout=60).json()
    assert all("result" in r for r in replies), replies
    return [r["result"] for r in sorted(replies, key=lambda r: r["id"])]


def signed(key: bytes, nonce: int, to: str | None, gas: int) -> str:
    tx = {"chainId": 1337, "nonce": nonce, "value": 1, "gas": gas, "data": "0x" if to else INIT}
    tx |= {"maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9}
    if to:
        tx["to"] = to_checksum_address(to)
    return Account.sign_transaction(tx, key).raw_transaction.to_0x_hex()


def check_block(url: str, number: int, hashes: list[str]) -> list[dict]:
    """Every receipt of `hashes` agrees with block `number` and with its neighbours in the block."""
    block = rpc(url, "eth_getBlockByNumber", hex(number), False)
    assert sorted(block["transactions"]) == sorted(hashes)
    receipts = batch(url, "eth_getTransactionReceipt", [[h] for h in block["transactions"]])
    assert receipts == rpc(url, "eth_getBlockReceipts", hex(number))
    cumulative = log_index = 0
    for i, (tx_hash, receipt) in enumerate(zip(block["transactions"], receipts, strict=True)):
        assert receipt["transactionHash"] == tx_hash
        assert receipt["blockHash"] == block["hash"] and receipt["blockNumber"] == hex(number)
        assert receipt["transactionIndex"] == hex(i) and receipt["status"] == "0x1"
        cumulative += int(receipt["gasUsed"], 16)
        assert int(receipt["cumulativeGasUsed"], 16) == cumulative
        for lg in receipt["logs"]:
            assert lg["logIndex"] == hex(log_index) and lg["transactionIndex"] == hex(i)
            assert lg["transactionHash"] == tx_hash and lg["blockHash"] == block["hash"]
            log_index += 1
    assert cumulative == int(block["gasUsed"], 16)
    found = batch(url, "eth_getTransactionByHash", [[h] for h in block["transactions"]])
    assert [(t["blockHash"], t["transactionIndex"]) for t in found] == [
        (block["hash"], hex(i)) for i in range(len(found))
    ]
    return receipts


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """Blocks only on evm_mine (the interval is an hour), so one block takes all pending txs."""
    with DevNode.start(
        tmp_path_factory.mktemp("cache") / "data", block_time=3600, extra=["--accounts", str(SENDERS)]
    ) as node:
        yield node


def test_receipts_of_a_full_block_and_of_its_replacement_after_revert(node):
    url = node.url
    rpc(url, "eth_sendRawTransaction", signed(KEYS[0], 0, None, 200_000))
    rpc(url, "evm_mine")
    contract = rpc(url, "eth_getBlockReceipts", "latest")[0]["contractAddress"]
    height = int(rpc(url, "eth_blockNumber"), 16) + 1
    snapshot = rpc(url, "evm_snapshot")

    # odd senders call the contract (2 logs each), even senders transfer (no logs)
    raws = [signed(key, 0, contract if i % 2 else "0x" + "22" * 20, 60_000) for i, key in enumerate(KEYS)]
    hashes = batch(url, "eth_sendRawTransaction", [[r] for r in raws[1:]])
    rpc(url, "evm_mine")
    first = check_block(url, height, hashes)
    assert sum(len(r["logs"]) for r in first) == 2 * (SENDERS // 2)
    assert len({r["gasUsed"] for r in first}) == 2  # transfers and calls really interleave
    old_hash = first[0]["blockHash"]

    assert rpc(url, "evm_revert", snapshot) is True
    # the same height again: some of the calls only, in another order, so indexes move
    again = [r for i, r in enumerate(raws) if i % 2][::-1][:-2]
    kept = batch(url, "eth_sendRawTransaction", [[r] for r in again])
    rpc(url, "evm_mine")
    second = check_block(url, height, kept)
    assert second[0]["blockHash"] != old_hash
    moved = {r["transactionHash"]: r["transactionIndex"] for r in first}
    assert any(moved[r["transactionHash"]] != r["transactionIndex"] for r in second)
    dropped = [[h] for h in hashes if h not in kept]
    assert batch(url, "eth_getTransactionReceipt", dropped) == [None] * len(dropped)
