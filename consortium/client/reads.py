"""Many JSON-RPC requests in few round trips (batches): the one batched-read helper, for loops over
claims, members or blocks. The typed wrappers (contracts.py: the `*_each` reads) build the contract
calls; blocks and their receipts are read here; sending (tx.py) batches through the same call."""

from __future__ import annotations

from collections.abc import Iterable

from consortium.client.errors import TransactionError

BATCH = 500  # geth's and our node's limit is 1,000 requests per batch


def rpc_batch(w3, calls: list[tuple[str, list]]) -> list[dict]:
    """Raw JSON-RPC batches (web3's batch mode refuses eth_sendRawTransaction, and decoding
    thousands of plain replies through web3's formatters costs more than the calls): replies in
    order, each {"result": ...} or {"error": ...}."""
    out: list[dict] = []
    for i in range(0, len(calls), BATCH):
        replies = w3.provider.make_batch_request(calls[i : i + BATCH])
        if isinstance(replies, dict):  # the whole batch was refused
            raise TransactionError(f"JSON-RPC batch refused: {replies.get('error')}")
        out.extend(sorted(replies, key=lambda r: r["id"]) if all("id" in r for r in replies) else replies)
    return out


def blocks(w3, numbers: Iterable[int], full: bool = False) -> list[dict]:
    """Blocks by number as the node answers them (hex quantities; `full`: with their transactions)."""
    return [r["result"] for r in rpc_batch(w3, [("eth_getBlockByNumber", [hex(n), full]) for n in numbers])]


def block_receipts(w3, numbers: Iterable[int]) -> list[list[dict]]:
    """Every receipt of each block, as the node answers them (`eth_getBlockReceipts`)."""
    return [
        r.get("result") or [] for r in rpc_batch(w3, [("eth_getBlockReceipts", [hex(n)]) for n in numbers])
    ]
