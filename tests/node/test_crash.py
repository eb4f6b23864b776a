"""kill -9 in the middle of a stream of transactions, restart on the same datadir: nothing that had a
receipt is lost, the state is exactly what the surviving blocks say, and the node serves again."""

from __future__ import annotations

import json
import threading
import time

import requests
from eth_account import Account

from harness.processes import DEV_ADDRESSES, DEV_KEYS, DevNode, rpc

RECIPIENTS = [Account.create().address for _ in range(4)]


def batch(url: str, calls: list[tuple[str, list]]) -> list[dict]:
    """Results in call order, in JSON-RPC batches of at most 500."""
    out = []
    for start in range(0, len(calls), 500):
        chunk = calls[start : start + 500]
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(chunk)]
        resp = requests.post(
            url, data=json.dumps(body), headers={"Content-Type": "application/json"}, timeout=10
        )
        out += sorted(resp.json(), key=lambda r: r["id"])
    return out


def test_sigkill_mid_stream_loses_nothing_committed(tmp_path):
    node = DevNode.start(tmp_path / "data")
    url = node.url
    key = DEV_KEYS[0]
    fee = 4 * int(rpc(url, "eth_gasPrice"), 16)
    sent: dict[str, tuple[str, int]] = {}  # tx hash -> (recipient, value)
    confirmed: dict[str, dict] = {}  # tx hash -> receipt seen before the kill
    stop = threading.Event()

    def stream() -> None:
        nonce = 0
        try:
            while not stop.is_set():
                raws = []
                for _ in range(25):
                    to, value = RECIPIENTS[nonce % len(RECIPIENTS)], 1000 + nonce
                    tx = {"chainId": 1337, "nonce": nonce, "to": to, "value": value, "gas": 21000}
                    tx |= {"maxFeePerGas": fee, "maxPriorityFeePerGas": 10**9}
                    signed = Account.sign_transaction(tx, key)
                    sent[signed.hash.to_0x_hex()] = (to, value)
                    raws.append(("eth_sendRawTransaction", [signed.raw_transaction.to_0x_hex()]))
                    nonce += 1
                batch(url, raws)
                pending = [h for h in sent if h not in confirmed]
                for h, reply in zip(
                    pending, batch(url, [("eth_getTransactionReceipt", [h]) for h in pending]), strict=True
                ):
                    if reply.get("result"):
                        confirmed[h] = reply["result"]
        except (requests.RequestException, ValueError):
            return  # the node died under us

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while len(confirmed) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    node.kill()
    stop.set()
    thread.join(15)
    assert len(confirmed) >= 100, "the stream never got going"

    node.launch()
    # every receipt seen before the kill is still there, in the same block
    hashes = list(sent)
    receipts = {
        h: r.get("result")
        for h, r in zip(hashes, batch(url, [("eth_getTransactionReceipt", [h]) for h in hashes]), strict=True)
    }
    for h, before in confirmed.items():
        after = receipts[h]
        assert after is not None, f"receipt of {h} lost"
        assert (after["blockHash"], after["blockNumber"], after["status"]) == (
            before["blockHash"],
            before["blockNumber"],
            before["status"],
        )
    # the state is exactly the sum of the included transactions, in nonce order
    included = {h: v for h, v in sent.items() if receipts[h] is not None}
    assert len(included) >= len(confirmed)
    assert int(rpc(url, "eth_getTransactionCount", DEV_ADDRESSES[0], "latest"), 16) == len(included)
    for recipient in RECIPIENTS:
        expected = sum(value for to, value in included.values() if to == recipient)
        assert int(rpc(url, "eth_getBalance", recipient, "latest"), 16) == expected
    # blocks are contiguous and linked up to the head
    head = int(rpc(url, "eth_blockNumber"), 16)
    blocks = [
        r["result"] for r in batch(url, [("eth_getBlockByNumber", [hex(n), False]) for n in range(head + 1)])
    ]
    parent = blocks[0]["hash"]
    for block in blocks[1:]:
        assert block["parentHash"] == parent
        parent = block["hash"]
    # and it serves new transactions on top
    tx = {"chainId": 1337, "nonce": len(included), "to": RECIPIENTS[0], "value": 1, "gas": 21000}
    tx |= {"maxFeePerGas": fee, "maxPriorityFeePerGas": 10**9}
    h = rpc(url, "eth_sendRawTransaction", Account.sign_transaction(tx, key).raw_transaction.to_0x_hex())
    deadline = time.monotonic() + 30
    while rpc(url, "eth_getTransactionReceipt", h) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    node.stop()
