"""The reads every client makes; both nodes should answer them as geth does today."""

from __future__ import annotations

from conformance.checks import Case, equals, error, holds, result
from conformance.world import calldata

A = "0x000000000000000000000000000000000000002a"  # value 42, as a 32-byte word
REVERTED = "execution reverted: conformance says no"
RECEIPT = {
    "transactionHash": "hash",
    "transactionIndex": "quantity",
    "blockHash": "hash",
    "blockNumber": "quantity",
    "from": "address",
    "to": "address",
    "cumulativeGasUsed": "quantity",
    "gasUsed": "quantity",
    "effectiveGasPrice": "quantity",
    "contractAddress": None,
    "logs": [{"address": "address", "topics": ["hash"], "data": "data", "logIndex": "quantity"}],
    "logsBloom": "data",
    "status": "quantity",
    "type": "quantity",
}
TRANSACTION = {
    "hash": "hash",
    "nonce": "quantity",
    "blockHash": "hash",
    "blockNumber": "quantity",
    "transactionIndex": "quantity",
    "from": "address",
    "to": "address",
    "value": "quantity",
    "gas": "quantity",
    "input": "data",
    "type": "quantity",
    "chainId": "quantity",
    "v": "quantity",
    "r": "quantity",
    "s": "quantity",
}
BLOCK = {
    "number": "quantity",
    "hash": "hash",
    "parentHash": "hash",
    "stateRoot": "hash",
    "miner": "address",
    "gasLimit": "quantity",
    "gasUsed": "quantity",
    "timestamp": "quantity",
    "baseFeePerGas": "quantity",
    "transactions": ["hash"],
}


def call_value(w):
    return {"to": w.contracts["a"], "data": calldata("value()")}


CASES = [
    Case("eth_chainId", "the chain id", lambda w: [], result("quantity", equals(lambda w: hex(w.chain_id)))),
    Case(
        "eth_blockNumber",
        "the head",
        lambda w: [],
        result("quantity", holds(lambda w, r: int(r, 16) >= w.head, "behind the history")),
    ),
    Case("eth_getBalance", "a dev account", lambda w: [w.address(0), "latest"], result("quantity")),
    Case(
        "eth_getBalance",
        "a third argument is refused",
        lambda w: [w.address(0), "latest", "extra"],
        error(-32602, "too many arguments, want at most 2"),
    ),
    Case(
        "eth_getTransactionCount",
        "the sender's nonce",
        lambda w: [w.address(0), "latest"],
        result("quantity", equals(lambda w: "0x5")),
    ),
    Case(
        "eth_getCode",
        "a contract's code",
        lambda w: [w.contracts["a"], "latest"],
        result("data", holds(lambda w, r: len(r) > 2, "no code")),
    ),
    Case(
        "eth_getStorageAt",
        "slot 0 as a 32-byte word",
        lambda w: [w.contracts["a"], "0x0", "latest"],
        result("hash", equals(lambda w: "0x" + "00" * 31 + "2a")),
    ),
    Case(
        "eth_call",
        "a view",
        lambda w: [call_value(w), "latest"],
        result("data", equals(lambda w: "0x" + "00" * 31 + "2a")),
    ),
    Case(
        "eth_call",
        "a revert: code 3, reason and data",
        lambda w: [{"to": w.contracts["a"], "data": calldata("fail()")}, "latest"],
        error(3, REVERTED),
    ),
    Case(
        "eth_call",
        "a panic: geth names it",
        lambda w: [{"to": w.contracts["a"], "data": calldata("divide(uint256,uint256)", 1, 0)}, "latest"],
        error(3, "execution reverted: division or modulo by zero"),
    ),
    Case(
        "eth_estimateGas",
        "a store",
        lambda w: [{"from": w.address(1), "to": w.contracts["a"], "data": calldata("store(uint256)", 5)}],
        result("quantity", holds(lambda w, r: 21000 < int(r, 16) < 200_000, "not a store's gas")),
    ),
    Case(
        "eth_estimateGas",
        "a revert",
        lambda w: [{"from": w.address(1), "to": w.contracts["a"], "data": calldata("fail()")}],
        error(3, REVERTED),
    ),
    Case(
        "eth_getTransactionReceipt",
        "a successful store",
        lambda w: [w.txs["store"]],
        result(RECEIPT, equals(lambda w: "0x1", lambda r: r["status"])),
    ),
    Case(
        "eth_getTransactionReceipt",
        "a failed call",
        lambda w: [w.txs["fail"]],
        result(RECEIPT, equals(lambda w: "0x0", lambda r: r["status"])),
    ),
    Case("eth_getTransactionByHash", "a mined transaction", lambda w: [w.txs["store"]], result(TRANSACTION)),
    Case("eth_getBlockByNumber", "the head", lambda w: [hex(w.head), False], result(BLOCK)),
    Case(
        "eth_getLogs",
        "a contract's logs",
        lambda w: [{"address": w.contracts["a"], "fromBlock": "0x0", "toBlock": "latest"}],
        result([RECEIPT["logs"][0]], equals(lambda w: 2, len)),
    ),
]
