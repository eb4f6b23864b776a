"""Consensus junk costs its sender, not the validators (issue 16, QBFT messages).

Against validator-0 of a running 4-validator network, from the identities of two member nodes
(stopped; the test speaks for them): messages signed with random keys for the next height (the
author is checked before anything else, and the peer that passed them on is punished at once),
the same for heights above it (punished after a few strikes), and 600 block-sized proposals (120 MB) for
future heights signed with a real validator's key (validator-3's: a byzantine validator), which
fill only that validator's share of the future buffer. Meanwhile JSON-RPC answers within 200 ms
p99, blocks keep their rate and a transaction sent during the attack commits.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from consortium.network.config import load_config
from harness.attacks import dropped, junk_prepares, linked, validator_proposals
from harness.peernet import attacker, log_lines, pid, start_network
from harness.probes import LatencyProbe, rss_mib, wait_for_blocks
from node.p2p.abc import TOPIC_QBFT
from node.qbft.keys import Signer


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net = start_network(tmp_path_factory.mktemp("qbft-flood"), members=2)
    try:
        net.stop("member-0")
        net.stop("member-1")
        yield net
    finally:
        net.down()


async def peak_rss(pid_: int, seconds: float) -> float:
    peak, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        peak = max(peak, rss_mib(pid_))
        await asyncio.sleep(0.1)
    return peak


def test_junk_signed_by_anyone_or_a_validator_is_bounded_and_punished(net):
    url = net.url("validator-0")
    member0 = "0x" + net.by_name["member-0"].node_id.lower().removeprefix("0x")
    byzantine = Signer(load_config(net.root / "validator-3" / "node.toml").secret())
    normal = wait_for_blocks(url, 3, 30) / 3
    rss_before = rss_mib(pid(net, "validator-0"))
    a, b = attacker(net, "member-0", dial="validator-0"), attacker(net, "member-1", dial="validator-0")

    async def attack() -> dict:
        await a.start()
        await b.start()
        await linked(a)
        await linked(b)
        found = {}
        head = int(net.call("validator-0", "eth_blockNumber"), 16)
        for data in validator_proposals(byzantine, head, 600, 200_000):  # 120 MB
            a.broadcast(TOPIC_QBFT, data)
        found["peak rss in the validator's flood"] = await peak_rss(pid(net, "validator-0"), 4.0) - rss_before
        found["kept after the validator's flood"] = bool(a.peers())  # a validator's share: no punishment
        tx = await asyncio.to_thread(net.send_tx, "validator-1", net.accounts["users"][0]["privateKey"],
                                     "0x" + "22" * 20, 1)  # fmt: skip
        head = int(net.call("validator-0", "eth_blockNumber"), 16)
        for data in junk_prepares(head + 5, 8):  # above our next height: strikes, not yet punished
            b.broadcast(TOPIC_QBFT, data)
        await asyncio.sleep(1.0)
        found["kept after 8 strikes"] = bool(b.peers())
        for data in junk_prepares(head + 5, 40):
            b.broadcast(TOPIC_QBFT, data)
        found["dropped after more strikes"] = await dropped(b)
        head = int(net.call("validator-0", "eth_blockNumber"), 16)
        for one, two in zip(junk_prepares(head + 1, 1000), junk_prepares(head + 2, 1000), strict=True):
            a.broadcast(TOPIC_QBFT, one)  # the next height (or, once a block lands, the one after):
            a.broadcast(TOPIC_QBFT, two)  # the first one costs the link
        # "at once": on the first one the node processes, which on a busy machine may wait behind
        # the validator flood still queued on this link (the single punishment is checked below)
        found["dropped at once"] = await dropped(a, timeout=15)
        found["during"] = await asyncio.to_thread(wait_for_blocks, url, 3, 30) / 3
        found["receipt"] = await asyncio.to_thread(net.receipt, "validator-1", tx)
        await a.stop()
        await b.stop()
        return found

    with LatencyProbe(url) as probe:
        found = asyncio.run(attack())
    grown = rss_mib(pid(net, "validator-0")) - rss_before
    print(f"qbft flood: {found | {'receipt': '...'}}, normal {normal:.2f} s/block, "
          f"p99 {probe.p99() * 1000:.0f} ms, rss +{grown:.1f} MiB")  # fmt: skip
    assert found["kept after the validator's flood"] and found["peak rss in the validator's flood"] < 50
    assert found["kept after 8 strikes"] and found["dropped after more strikes"]
    assert found["dropped at once"]
    punished = log_lines(net, "validator-0", "punishing peer " + member0)
    assert len(punished) == 1 and "not a validator at height" in punished[0]
    assert log_lines(net, "validator-0", "future messages from non-validators")
    assert found["receipt"]["status"] == "0x1"
    assert found["during"] < 2 * normal + 0.5, (normal, found["during"])
    assert probe.errors == 0 and probe.p99() < 0.2
    assert grown < 40
