"""The movable consortium clock (`hubao net init --movable-clock`): the operator, named timekeeper in
genesis, moves every node's clock forward with ConsortiumClock.advanceTo, and the blocks after it
are stamped from the new time on every node, also on one restarted after `kill -9`.

A real network: 4 validator processes on loopback, timescale 60, 0.25 s blocks.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from consortium.client import ChainClock, ContractRefusal, connect
from consortium.compiler import compile_contracts
from consortium.network.genesis import GenesisSpec, QbftSettings, build_genesis
from consortium.network.layout import free_base_port, init_network, load_network
from consortium.network.processes import pid_of, start_node, stop_node
from harness.polling import until
from harness.processes import hubao, rpc
from node.chain import Chain
from node.chainclock import CLOCK_ADDRESS, ClockOffset
from node.genesis import Genesis
from node.permissioning import ALLOWLIST_ADDRESS
from node.qbft.rules import QbftRules
from node.storage import Store
from node.timescale import ScaledClock

DAY = 86_400
CLOCK_KEY = CLOCK_ADDRESS.removeprefix("0x")
SLOT_1 = "0x" + (1).to_bytes(32, "big").hex()


# ---- genesis (no processes) ---------------------------------------------------------------------


def _spec(**kw) -> GenesisSpec:
    admin = "0x" + "a1" * 20
    return GenesisSpec(chain_id=77, validators=["0x" + "11" * 20], nodes=["0x" + "11" * 20], admins=[admin],
                       funded={}, **kw)  # fmt: skip


def test_genesis_has_the_clock_only_with_a_timekeeper(tmp_path):
    compiled = compile_contracts()
    allowlist, clock = compiled["ConsortiumAllowlist"]["deployed"], compiled["ConsortiumClock"]["deployed"]
    plain = build_genesis(_spec(), allowlist, clock)
    assert CLOCK_KEY not in plain["alloc"] and ALLOWLIST_ADDRESS.removeprefix("0x") in plain["alloc"]
    assert set(plain["config"]["hubao"]["clock"]) == {"timescale", "realEpoch", "simEpoch"}

    keeper = "0x" + "be" * 20
    movable = build_genesis(_spec(timekeeper=keeper, timescale=60), allowlist, clock)
    entry = movable["alloc"][CLOCK_KEY]
    assert entry["code"] == clock
    assert entry["storage"] == {SLOT_1: "0x" + "00" * 12 + "be" * 20}  # slot 0 (offset) starts at 0
    assert movable["config"]["hubao"]["clock"]["contract"] == "0x0000000000000000000000000000000000008889"
    assert movable["config"]["hubao"]["clock"]["timekeeper"].lower() == keeper
    with pytest.raises(ValueError):
        build_genesis(_spec(timekeeper=keeper), allowlist)

    # the node reads the timekeeper and the offset from its own state at the head
    chain = Chain(Store(str(tmp_path / "chain")), Genesis.from_json(movable), QbftRules(30000))
    scaled = ScaledClock(timescale=60)
    reader = ClockOffset(chain, scaled)
    reader.follow()
    assert reader.timekeeper() == keeper and reader.offset() == 0 and scaled.offset == 0


def test_init_makes_the_operator_the_timekeeper_and_takes_fractional_block_periods(tmp_path):
    init_network(tmp_path / "a", 1, qbft=QbftSettings(blockperiodseconds=0.25), movable_clock=True)
    genesis = json.loads((tmp_path / "a" / "genesis.json").read_text())
    book = json.loads((tmp_path / "a" / "accounts.json").read_text())
    assert genesis["config"]["hubao"]["clock"]["timekeeper"] == book["operator"]["address"]
    assert genesis["alloc"][CLOCK_KEY]["storage"][SLOT_1].endswith(book["operator"]["address"][2:].lower())
    assert genesis["config"]["qbft"]["xblockperiodmilliseconds"] == 250  # Besu's sub-second key
    init_network(tmp_path / "b", 1)
    genesis = json.loads((tmp_path / "b" / "genesis.json").read_text())
    assert CLOCK_KEY not in genesis["alloc"] and "contract" not in genesis["config"]["hubao"]["clock"]
    assert genesis["config"]["qbft"]["blockperiodseconds"] == 1


def test_the_scaled_clock_adds_the_offset():
    clock = ScaledClock(timescale=60, real_epoch=1000, sim_epoch=5000, wall=lambda: 1002)
    assert clock.now() == 5120
    clock.offset = 30 * DAY
    assert clock.now() == 5120 + 30 * DAY


# ---- a running network --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("clocknet")
    base = str(free_base_port(4))
    init = hubao("net", "init", "--validators", "4", "--dir", str(root), "--base-port", base,
                 "--timescale", "60", "--block-period", "0.25", "--movable-clock")  # fmt: skip
    assert init.returncode == 0, init.stderr
    up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "60")
    try:
        assert up.returncode == 0, up.stderr + (root / "validator-0" / "node.log").read_text()[-2000:]
        yield root
    finally:
        down = hubao("net", "down", "--dir", str(root), "--json")
        assert down.returncode == 0, down.stderr


def urls(root) -> list[str]:
    return [e.rpc_url for e in load_network(root)]


def book(root) -> dict:
    return json.loads((root / "accounts.json").read_text())


def latest(url: str) -> dict:
    return rpc(url, "eth_getBlockByNumber", "latest", False)


def one_chain(addresses: list[str]) -> int:
    """All nodes hold the same block at the lowest of their heights; returns that height."""
    height = min(int(rpc(u, "eth_blockNumber"), 16) for u in addresses)
    assert len({rpc(u, "eth_getBlockByNumber", hex(height), False)["hash"] for u in addresses}) == 1
    return height


@pytest.fixture(scope="module")
def advanced(net):
    """The operator moves the clock 30 days ahead of the latest block."""
    w3 = connect(urls(net)[0])
    clock = ChainClock(w3, book(net)["operator"]["privateKey"])
    assert clock.movable and clock.timekeeper == book(net)["operator"]["address"] and clock.offset == 0
    target = int(latest(urls(net)[0])["timestamp"], 16) + 30 * DAY
    started = time.monotonic()
    stamped = clock.advance_to(target)
    return target, stamped, time.monotonic() - started, clock


def test_the_timekeeper_moves_every_nodes_clock_and_blocks_keep_coming(net, advanced):
    target, stamped, seconds, clock = advanced
    assert stamped >= target and seconds < 10
    offset = clock.offset
    assert 29 * DAY < offset <= 30 * DAY
    sent = clock.w3.eth.get_transaction_count(clock.tx.address)
    assert clock.advance_to(target) >= target and clock.w3.eth.get_transaction_count(clock.tx.address) == sent
    for url in urls(net):
        until(lambda url=url: int(latest(url)["timestamp"], 16) >= target, what=f"{url} at the target")
        info = rpc(url, "admin_nodeInfo")["clock"]
        assert info["movable"] and info["offset"] == offset and info["now"] >= target
    before = one_chain(urls(net))
    until(lambda: one_chain(urls(net)) >= before + 3, what="three more blocks everywhere")
    stamps = [int(rpc(urls(net)[1], "eth_getBlockByNumber", hex(n), False)["timestamp"], 16)
              for n in range(before, before + 4)]  # fmt: skip
    assert all(s >= target for s in stamps) and stamps == sorted(set(stamps))


def test_only_the_timekeeper_moves_the_clock_and_only_forward(net, advanced):
    target, _, _, clock = advanced
    w3 = connect(urls(net)[1])
    offset = clock.offset
    stranger = ChainClock(w3, book(net)["users"][0]["privateKey"])
    with pytest.raises(ContractRefusal) as refused:
        stranger.advance_to(target + 365 * DAY)
    assert refused.value.name == "NotTimekeeper" and refused.value.args_ == (
        book(net)["users"][0]["address"],
    )
    with pytest.raises(ContractRefusal) as refused:
        clock.send("advanceTo", target - DAY)
    assert refused.value.name == "NotForward" and refused.value.args_[0] == target - DAY
    assert ChainClock(w3).offset == offset
    assert int(latest(urls(net)[1])["timestamp"], 16) < target + 365 * DAY


def test_a_validator_killed_and_restarted_keeps_the_moved_clock(net, advanced):
    target, _, _, clock = advanced
    entries = load_network(net)
    victim = entries[3]
    os.kill(pid_of(net / victim.folder), signal.SIGKILL)
    stop_node(net, victim)  # reaps it
    restarted_at = one_chain(urls(net)[:3])
    start_node(net, victim)
    until(lambda: _serving(victim.rpc_url), timeout=30, what="restarted node serving")
    info = rpc(victim.rpc_url, "admin_nodeInfo")["clock"]
    assert info["offset"] == clock.offset and info["now"] >= target  # read from its own chain at start
    # it rejoins: catches up, and proposes a block stamped on the moved clock
    proposer = until(lambda: _proposed_by(victim.rpc_url, victim.node_id, restarted_at), timeout=30,
                    what="a block by it")  # fmt: skip
    assert int(proposer["timestamp"], 16) >= target
    assert one_chain(urls(net)) >= int(proposer["number"], 16)


def _serving(url: str) -> bool:
    try:
        rpc(url, "eth_blockNumber", timeout=2)
        return True
    except Exception:
        return False


def _proposed_by(url: str, node_id: str, since: int) -> dict | None:
    for n in range(since + 1, int(rpc(url, "eth_blockNumber"), 16) + 1):
        block = rpc(url, "eth_getBlockByNumber", hex(n), False)
        if block["miner"].lower() == node_id.lower():
            return block
    return None
