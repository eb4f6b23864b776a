"""Many JSON-RPC requests in few round trips (batches), for loops over claims or members. The typed
wrappers (contracts.py: the `*_each` reads) build the contract calls; nothing else does."""

from __future__ import annotations

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
