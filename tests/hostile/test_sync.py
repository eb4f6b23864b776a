"""Row: sync. A member node that lost its datadir syncs the chain from block 0 while its users
keep asking it questions: it answers JSON-RPC throughout (imports yield to the event loop after
every block), `eth_syncing` tells geth's {startingBlock, currentBlock, highestBlock} while it
catches up and false once it has, and blocks keep coming on the validators meanwhile.
"""

from __future__ import annotations

import shutil
import time

from harness.probes import wait_for_blocks
from harness.processes import rpc, wait_for_rpc
from tests.hostile.conftest import answered_honestly, honest_client

MIN_BLOCKS = 25  # the old importer held JSON-RPC for a whole batch of up to 64 blocks (~1 s for 25 here)


def test_member_syncing_from_scratch_keeps_answering(consortium):
    net = consortium
    member, url = "member-0", net.url("member-0")
    net.stop(member)
    shutil.rmtree(net.root / member / "data")
    users = net.accounts["users"]
    while net.top(net.names("validator")) < MIN_BLOCKS:  # blocks with transactions in them
        for _ in range(5):
            net.send_tx("validator-0", users[3]["privateKey"], users[4]["address"], value=1)
        wait_for_blocks(net.url("validator-0"), 1, 30)
    target = net.top(net.names("validator"))
    net.start(member)
    wait_for_rpc(url, timeout=60)
    seen: list = []
    with honest_client(url) as probe:
        deadline = time.monotonic() + 90
        while (net.height(member) or 0) < target:
            assert time.monotonic() < deadline, f"member-0 stuck at {net.height(member)} of {target}"
            seen.append(rpc(url, "eth_syncing", timeout=5))
            time.sleep(0.05)
        busy = wait_for_blocks(net.url("validator-0"), 2, 30) / 2
    progress = [s for s in seen if isinstance(s, dict)]
    assert progress, f"eth_syncing never reported progress: {seen[:5]}"
    assert {tuple(sorted(p)) for p in progress} == {("currentBlock", "highestBlock", "startingBlock")}
    assert progress[0]["startingBlock"] == "0x0"
    assert all(int(p["currentBlock"], 16) <= int(p["highestBlock"], 16) for p in progress)
    assert int(progress[-1]["highestBlock"], 16) >= target - 2
    net.wait(lambda: rpc(url, "eth_syncing") is False, 30, "eth_syncing false after catching up")
    assert answered_honestly(probe)
    assert busy < 3 * 0.5 + 0.5  # the validators went on at about their 0.5 s period
    ours, theirs = (net.call(n, "eth_getBlockByNumber", hex(target), False) for n in (member, "validator-0"))
    assert ours["hash"] == theirs["hash"]
