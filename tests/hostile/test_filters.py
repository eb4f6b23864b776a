"""Row: filters and subscriptions. A client installs filters until the node refuses and then goes
quiet; another fills the node with log subscriptions that match every log of busy blocks. The
node refuses past its caps with one clear error (logged once), drops idle filters on its own
timer, and matches subscriptions after the commit, so an honest client is answered at once and
blocks keep coming at their rate.
"""

from __future__ import annotations

import multiprocessing
import time

import pytest
from eth_account import Account
from websockets.sync.client import connect

from harness.attacks import batch, call, subscriber
from harness.probes import rss_mib, wait_for_blocks
from harness.processes import DEV_ADDRESSES, DEV_KEYS, DevNode, rpc
from tests.hostile.conftest import answered_honestly, honest_client

FILTER_TIMEOUT, MAX_FILTERS = 2.0, 1000  # the default cap, a short timeout
HOUSEKEEPING = 1.0  # node.core.HOUSEKEEPING_INTERVAL
PER_CONNECTION, MAX_SUBSCRIPTIONS = 20, 200
BLOCK_TIME = 0.5
LOGS, TXS = 10, 2
# init code that emits 10 LOG0s: PUSH1 10; loop: DUP1 ISZERO PUSH1 end JUMPI PUSH0 PUSH0 LOG0
# PUSH1 1 SWAP1 SUB PUSH1 loop JUMP; end: STOP
LOGGER = "0x600a5b8015601257" + "5f5fa0" + "60019003600256" + "5b00"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    limits = ["--filter-timeout", str(FILTER_TIMEOUT), "--ws-max-subscriptions", str(PER_CONNECTION),
              "--max-subscriptions", str(MAX_SUBSCRIPTIONS)]  # fmt: skip
    dev = DevNode.start(tmp_path_factory.mktemp("filters") / "data", block_time=BLOCK_TIME, extra=limits)
    yield dev
    dev.stop()


def signed(key: str, **fields) -> str:
    tx = {"type": 2, "chainId": 1337, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, **fields}
    return Account.sign_transaction(tx, key).raw_transaction.to_0x_hex()


def test_filters_are_capped_and_idle_ones_expire_on_the_timer(node):
    before = rss_mib(node.proc.pid)
    with honest_client(node.url, after=False) as probe:  # the honest client runs to the end
        # in two batches: all of them well inside the timeout
        answers = [a for _ in range(2) for a in batch(node.url, "eth_newBlockFilter", [[]] * 600)]
        grown = rss_mib(node.proc.pid) - before
        created = [a["result"] for a in answers if "result" in a]
        # one filter is polled and lives; the others go quiet and the timer drops them, with no
        # new filter created meanwhile (before, only creating one swept them)
        kept = created[0]
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < FILTER_TIMEOUT + 2 * HOUSEKEEPING:  # polling only `kept`
            assert isinstance(rpc(node.url, "eth_getFilterChanges", kept), list)
            time.sleep(0.2)
    refused = [(a["error"]["code"], a["error"]["message"]) for a in answers if "error" in a]
    assert len(created) == MAX_FILTERS and len(refused) == 200
    assert set(refused) == {
        (-32005, f"too many filters (limit {MAX_FILTERS}): uninstall some, idle ones expire")
    }
    assert node.log().count("refused a new filter") == 1
    assert grown < 10, f"resident memory grew by {grown:.0f} MiB"  # 5,000 filters cost 41 MiB before
    assert answered_honestly(probe)
    for quiet in (created[1], created[-1]):  # looked at once, after their timeout: gone
        with pytest.raises(RuntimeError) as gone:
            rpc(node.url, "eth_getFilterChanges", quiet)
        assert gone.value.args[:2] == (-32000, "filter not found")
    rpc(node.url, "eth_getFilterChanges", kept)
    wait_for_blocks(node.url, 1, 10)
    head = rpc(node.url, "eth_getBlockByNumber", "latest", False)["hash"]
    assert head in rpc(node.url, "eth_getFilterChanges", kept)  # the polled one lives and reports blocks
    assert isinstance(rpc(node.url, "eth_newBlockFilter"), str)  # the cap has room again


def over_cap(ws) -> dict:
    return call(ws, "eth_subscribe", "logs", {}, req_id=99)["error"]


def test_subscriptions_are_capped_and_matched_after_the_commit(node):
    with connect(node.ws_url) as ws:  # one connection: its cap
        ids = [call(ws, "eth_subscribe", "newHeads", req_id=i + 1)["result"] for i in range(PER_CONNECTION)]
        limit = f"too many subscriptions on this connection (limit {PER_CONNECTION})"
        assert over_cap(ws) == {"code": -32005, "message": limit}
        assert all(call(ws, "eth_unsubscribe", sub, req_id=200)["result"] for sub in ids)
    spawn = multiprocessing.get_context("spawn")
    counts, ready = spawn.Array("q", 3), spawn.Event()
    attacker = spawn.Process(
        target=subscriber,
        args=(node.ws_url, MAX_SUBSCRIPTIONS // PER_CONNECTION, PER_CONNECTION, counts, ready),
        daemon=True,
    )
    attacker.start()
    try:
        assert ready.wait(60), "the attacker could not subscribe"
        assert (counts[1], counts[2]) == (MAX_SUBSCRIPTIONS, 0)  # every one made
        with connect(node.ws_url) as ws:  # the node's cap
            limit = f"too many subscriptions on this node (limit {MAX_SUBSCRIPTIONS})"
            assert over_cap(ws) == {"code": -32005, "message": limit}
        normal = wait_for_blocks(node.url, 4, 30) / 4
        nonce = int(rpc(node.url, "eth_getTransactionCount", DEV_ADDRESSES[1], "pending"), 16)
        honest_nonce = int(rpc(node.url, "eth_getTransactionCount", DEV_ADDRESSES[2], "pending"), 16)
        with honest_client(node.url) as probe:
            for i in range(TXS):  # 10 logs each, every one matched by all 200 subscriptions
                tx = signed(DEV_KEYS[1], nonce=nonce + i, data=LOGGER, gas=200_000)
                rpc(node.url, "eth_sendRawTransaction", tx)
            honest = signed(DEV_KEYS[2], nonce=honest_nonce, to=DEV_ADDRESSES[3], value=1, gas=21000)
            honest_hash = rpc(node.url, "eth_sendRawTransaction", honest)
            busy = wait_for_blocks(node.url, 6, 30) / 6
        deadline = time.monotonic() + 15
        while rpc(node.url, "eth_getTransactionReceipt", honest_hash) is None:
            assert time.monotonic() < deadline, "the honest transaction was not committed"
            time.sleep(0.1)
        assert answered_honestly(probe)
        assert busy < normal * 1.5 + 0.2, (normal, busy)
        deadline = time.monotonic() + 30
        while counts[0] < LOGS * TXS * MAX_SUBSCRIPTIONS:  # every one delivered, after the commit
            assert time.monotonic() < deadline, f"only {counts[0]} notifications delivered"
            time.sleep(0.2)
        assert node.log().count("refused eth_subscribe") == 2  # once per client connection
    finally:
        attacker.kill()
