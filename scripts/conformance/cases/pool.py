"""The pool as geth shows it (txpool_*), the pending block, and what geth added to reads: raw
transactions, eth_blobBaseFee, type-4 JSON, eth_getLogs' range and topic rules."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak, to_checksum_address

from conformance.checks import Case, equals, error, holds, result
from conformance.world import KEYS

QUEUED_FROM = 5  # an account used only for the queued transaction
STORED = "0x" + keccak(text="Stored(address,uint256)").hex()


def _queue(w) -> None:
    """A transaction with a nonce gap, so it waits in the pool's queue on both nodes."""
    if "queued" in w.facts:
        return
    sender = w.address(QUEUED_FROM)
    nonce = int(w.result("eth_getTransactionCount", sender, "pending"), 16) + 3
    tx = {
        "chainId": w.chain_id,
        "nonce": nonce,
        "gas": 21000,
        "gasPrice": 3 * 10**9,
        "to": w.address(4),
        "value": 1,
    }
    raw = Account.sign_transaction(tx, KEYS[QUEUED_FROM]).raw_transaction
    w.facts["queued"] = (w.result("eth_sendRawTransaction", "0x" + bytes(raw).hex()), nonce)


def _in_queue(w, r):
    tx_hash, nonce = w.facts["queued"]
    entry = r["queued"][to_checksum_address(w.address(QUEUED_FROM))][str(nonce)]
    return entry["hash"] == tx_hash


def _inspected(w, r):
    _, nonce = w.facts["queued"]
    line = r["queued"][to_checksum_address(w.address(QUEUED_FROM))][str(nonce)]
    return line == f"{to_checksum_address(w.address(4))}: 1 wei + 21000 gas × 3000000000 wei"


def _type4(w) -> None:
    if "type4" in w.facts:
        return
    sender = Account.from_key(KEYS[2])
    nonce = int(w.result("eth_getTransactionCount", sender.address, "pending"), 16)
    auth = sender.sign_authorization({"chainId": w.chain_id, "address": w.contracts["a"], "nonce": nonce + 1})
    fees = {
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 100_000,
        "value": 0,
        "data": b"",
    }
    tx = {"type": 4, "chainId": w.chain_id, "nonce": nonce, "to": sender.address, "authorizationList": [auth]}
    raw = Account.sign_transaction({**tx, **fees}, KEYS[2]).raw_transaction
    w.facts["type4"] = w.result("eth_sendRawTransaction", "0x" + bytes(raw).hex())
    w.wait(w.facts["type4"])


def _is_store(w, raw: str) -> bool:
    return "0x" + keccak(hexstr=raw).hex() == w.txs["store"]


RAW_GETTERS = (
    ("eth_getRawTransactionByHash", lambda w: [w.txs["store"]]),
    (
        "eth_getRawTransactionByBlockHashAndIndex",
        lambda w: [w.receipts["store"]["blockHash"], w.receipts["store"]["transactionIndex"]],
    ),
    (
        "eth_getRawTransactionByBlockNumberAndIndex",
        lambda w: [w.receipts["store"]["blockNumber"], w.receipts["store"]["transactionIndex"]],
    ),
)
AUTH = {
    "chainId": "quantity",
    "address": "address",
    "nonce": "quantity",
    "yParity": "quantity",
    "r": "quantity",
    "s": "quantity",
}

CASES = [
    *(
        Case(method, "the signed bytes", params, result("data", holds(_is_store, "not the transaction")))
        for method, params in RAW_GETTERS
    ),
    Case(
        "eth_blobBaseFee",
        "a quantity of at least 1",
        lambda w: [],
        result("quantity", holds(lambda w, r: int(r, 16) >= 1, "below 1")),
    ),
    Case(
        "eth_getLogs",
        "fromBlock after toBlock is refused",
        lambda w: [{"fromBlock": hex(w.head), "toBlock": hex(w.head - 1)}],
        error(-32602, "invalid block range params"),
    ),
    Case(
        "eth_getLogs",
        "more topic positions than a log has match nothing",
        lambda w: [
            {
                "address": w.contracts["a"],
                "fromBlock": "0x0",
                "toBlock": "latest",
                "topics": [STORED, None, None, None],
            }
        ],
        result([{"address": "address"}], equals(lambda w: 0, len)),
    ),
    Case(
        "eth_getBlockByNumber",
        "pending: the next number, hash and miner null",
        lambda w: ["pending", False],
        result(
            {"number": "quantity", "hash": None, "miner": None, "transactions": ["hash"]},
            holds(
                lambda w, r: int(r["number"], 16) == int(w.result("eth_blockNumber"), 16) + 1,
                "not latest + 1",
            ),
        ),
    ),
    Case(
        "eth_getTransactionByHash",
        "a type-4 transaction carries its authorizationList",
        lambda w: [w.facts["type4"]],
        result(
            {"type": "quantity", "authorizationList": [AUTH]}, equals(lambda w: "0x4", lambda r: r["type"])
        ),
        before=_type4,
    ),
    Case(
        "txpool_status",
        "counts pending and queued",
        lambda w: [],
        result(
            {"pending": "quantity", "queued": "quantity"},
            holds(lambda w, r: int(r["queued"], 16) >= 1, "nothing queued"),
        ),
        before=_queue,
    ),
    Case(
        "txpool_content",
        "queued by checksummed sender and decimal nonce",
        lambda w: [],
        result(
            {"pending": "any", "queued": "any"},
            holds(_in_queue, "the queued transaction is not where geth puts it"),
        ),
        before=_queue,
    ),
    Case(
        "txpool_inspect",
        "geth's one-line summary",
        lambda w: [],
        result({"pending": "any", "queued": "any"}, holds(_inspected, "not geth's summary line")),
        before=_queue,
    ),
]
