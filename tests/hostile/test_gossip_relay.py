"""A partial mesh still delivers everything (issue 16, gossip).

Four validators, every p2p link through its own TCP proxy; the link between validator-0 (A) and
validator-2 (C) is cut both ways. Gossip is relayed once it is checked (the QBFT controller relays
what the height manager accepted, the pool what it admitted), so C still hears A through B and D:
all four keep finalising at their normal rate, C seals blocks A proposes (it could only have done
so having received A's proposal, relayed), and a transaction sent to A reaches C's pool (C's own
`newPendingTransactions` subscription sees it) and commits. Before, each message was marked seen on
arrival and never passed on, so C heard nothing of A.
"""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.client import connect

from harness.network import Network, NetworkSpec
from harness.probes import LatencyProbe, wait_for_blocks
from harness.seals import seal_digest_of
from node.qbft.extradata import ExtraData
from node.qbft.keys import recover

A, B, C, D = (f"validator-{i}" for i in range(4))


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net = Network.up(
        tmp_path_factory.mktemp("gossip"), NetworkSpec(members=0, block_period=0.5, request_timeout=4)
    )
    try:
        yield net
    finally:
        net.down()


def cut(net: Network, x: str, y: str) -> None:
    net.proxies[(x, y)].set_mode("reset")
    net.proxies[(y, x)].set_mode("reset")


def pending_seen(url: str, found: list[str], ready: threading.Event, stop: threading.Event) -> None:
    """Record every transaction hash C's pool admits (eth_subscribe newPendingTransactions)."""
    with connect(url.replace("http://", "ws://"), open_timeout=10) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                            "params": ["newPendingTransactions"]}))  # fmt: skip
        json.loads(ws.recv(10))
        ready.set()
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(0.2))
            except TimeoutError:
                continue
            found.append(message["params"]["result"])


def sealers(net: Network, name: str, number: int) -> tuple[str, set[str]]:
    """(proposer, sealers) of block `number` as node `name` keeps it."""
    block = net.call(name, "eth_getBlockByNumber", hex(number), False)
    digest = seal_digest_of(block)
    extra = ExtraData.decode(bytes.fromhex(block["extraData"][2:]))
    return block["miner"].lower(), {"0x" + recover(digest, s).hex() for s in extra.seals}


def test_a_cut_link_is_bridged_by_relays(net):
    ids = {e.name: "0x" + e.node_id.lower().removeprefix("0x") for e in net.entries}
    normal = wait_for_blocks(net.url(C), 3, 30) / 3
    cut(net, A, C)
    net.wait(lambda: all(int(net.call(n, "net_peerCount"), 16) == 2 for n in (A, C)), 20, "A and C apart")
    start = net.top()
    found, ready, stop = [], threading.Event(), threading.Event()
    listener = threading.Thread(target=pending_seen, args=(net.url(C), found, ready, stop), daemon=True)
    listener.start()
    assert ready.wait(10)
    with LatencyProbe(net.url(C)) as probe:
        # a nonce gap keeps the first transaction in the pools: it can only reach C's by relay
        key = net.accounts["users"][0]["privateKey"]
        nonce = int(
            net.call(A, "eth_getTransactionCount", net.accounts["users"][0]["address"], "pending"), 16
        )
        net.nonces[net.accounts["users"][0]["address"]] = nonce + 1
        queued = net.send_tx(A, key, "0x" + "33" * 20, 1)
        net.wait(lambda: queued in found, 10, "A's transaction in C's pool")
        net.nonces[net.accounts["users"][0]["address"]] = nonce
        first = net.send_tx(A, key, "0x" + "33" * 20, 1)
        rates = {name: wait_for_blocks(net.url(name), 6, 60) / 6 for name in (A, C)}
        receipt = net.receipt(C, queued)
    stop.set()
    assert net.receipt(C, first)["status"] == receipt["status"] == "0x1"
    top = min(net.height(n) for n in (A, B, C, D))
    assert top >= start + 6 and all(rate < 2 * normal + 0.5 for rate in rates.values()), (normal, rates)
    by_a = [sealers(net, C, n)[1] for n in range(start + 1, top + 1) if sealers(net, C, n)[0] == ids[A]]
    assert by_a and any(ids[C] in s for s in by_a), by_a  # C prepared and committed A's proposals
    assert net.assert_one_chain() >= top
    assert probe.errors == 0 and probe.p99() < 0.2
    net.heal()
