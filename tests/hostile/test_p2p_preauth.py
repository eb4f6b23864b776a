"""Before a peer has proven who it is, it costs a node little (issue 16, p2p before authentication).

Against validator-0 of a running 4-validator network: 100 idle TCP connections from one address,
80 more from ten others, connections holding a pinned certificate (member-0's, whose node is
stopped: what a removed organisation still has) that announce a 16 MiB HELLO or say nothing after
TLS. The node holds at most `max_pending_per_ip` (8) handshakes from one address and
`max_pending_peers` (50) in all, refusing the rest before TLS; reads no more than a handshake
frame (67 bytes) before AUTH; closes every one within the 5 s handshake deadline; logs the
refusals once per address. Meanwhile an honest peer (member-0's identity, from its own address)
gets in, JSON-RPC answers within 200 ms p99, blocks keep their rate and a transaction commits.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from harness.attacks import idle_connections, oversized_hello, silent_after_tls, still_open, tls_context
from harness.peernet import attacker, log_lines, pid, start_network
from harness.probes import LatencyProbe, rss_mib, wait_for_blocks


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net = start_network(tmp_path_factory.mktemp("preauth"), members=1)
    try:
        net.stop("member-0")  # the test holds its identity from here on
        yield net
    finally:
        net.down()


def test_strangers_before_auth_are_bounded_and_the_node_keeps_serving(net):
    v0 = net.by_name["validator-0"]
    target, url = (v0.host, v0.p2p_port), net.url("validator-0")
    ctx = tls_context(net.root, "member-0")
    normal = wait_for_blocks(url, 3, 30) / 3
    rss_before = rss_mib(pid(net, "validator-0"))
    honest = attacker(net, "member-0", dial="validator-0")  # here an honest peer: it only connects

    async def attack() -> dict:
        silent = asyncio.create_task(asyncio.to_thread(silent_after_tls, target, ctx))
        one_address = await asyncio.to_thread(idle_connections, target, "127.0.0.2", 100)
        await asyncio.sleep(1.0)
        found = {"one address": still_open(one_address)}
        await honest.start()  # from 127.0.0.1: its own share of the pending slots
        deadline = time.monotonic() + 10
        while not honest.peers() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        found["honest linked"] = bool(honest.peers())
        hellos = [asyncio.to_thread(oversized_hello, target, ctx) for _ in range(5)]
        found["hello"] = await asyncio.gather(*hellos)  # at once: 80 MiB announced
        many = []
        for i in range(10):
            many += await asyncio.to_thread(idle_connections, target, f"127.0.1.{i + 1}", 8)
        opened = time.monotonic()
        await asyncio.sleep(1.0)
        found["ten addresses"] = still_open(many)
        tx = await asyncio.to_thread(net.send_tx, "validator-0", net.accounts["users"][0]["privateKey"],
                                     "0x" + "11" * 20, 1)  # fmt: skip
        found["during"] = await asyncio.to_thread(wait_for_blocks, url, 3, 30) / 3
        found["receipt"] = await asyncio.to_thread(net.receipt, "validator-0", tx)
        found["silent"] = await silent
        await asyncio.sleep(max(0.0, opened + 6.5 - time.monotonic()))  # past every deadline
        found["left open"] = still_open(one_address + many)
        await honest.stop()
        return found

    with LatencyProbe(url) as probe:
        found = asyncio.run(attack())
    grown = rss_mib(pid(net, "validator-0")) - rss_before
    print(f"preauth: {found | {'receipt': '...'}}, p99 {probe.p99() * 1000:.0f} ms, rss +{grown:.1f} MiB")
    assert found["one address"] == 8  # max_pending_per_ip; the other 92 closed before TLS
    assert found["honest linked"]
    assert all(sent == 66 and seconds < 2 for sent, seconds in found["hello"])  # its own HELLO, then closed
    assert 8 + found["ten addresses"] <= 50 and found["ten addresses"] >= 40  # max_pending_peers in all
    assert 4.5 <= found["silent"] <= 7.0  # one 5 s deadline for TLS + HELLO + AUTH
    assert found["left open"] == 0
    assert found["receipt"]["status"] == "0x1"
    assert found["during"] < 2 * normal + 0.5, (normal, found["during"])
    assert probe.errors == 0 and probe.p99() < 0.2
    assert grown < 30
    assert len(log_lines(net, "validator-0", "refused inbound connection from 127.0.0.2")) == 1
    assert int(net.call("validator-0", "net_peerCount"), 16) >= 3
