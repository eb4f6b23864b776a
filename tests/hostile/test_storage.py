"""Row: storage. A client fills the chain with large transactions: the LMDB map grows instead of
stopping the chain at MapFullError, and when the disk runs low the node stops with one clear
message, its chain intact, and goes on from the same head once there is room.

The datadir is a small tmpfs mounted for the test (the suite runs as root: `make test` installs
Chromium with apt-get), so "the disk is full" is real and nobody else's files are touched.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from eth_account import Account

from harness.processes import DEV_ADDRESSES, DEV_KEYS, DevNode, rpc
from node.files import atomic_write
from tests.hostile.conftest import answered_honestly, honest_client

CHUNK = 50_000  # zero bytes of calldata per transaction: 50 KB in the block, a 0.5M gas floor
# Room for about 800 of them before the 8 MiB floor: the fill lasts long enough for the honest
# client to get well over 100 answers, so its p99 is a 99th percentile, not the slowest answer.
DISK_MIB = 48


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def big_tx(nonce: int) -> str:
    fields = {
        "type": 2, "chainId": 1337, "nonce": nonce, "to": DEV_ADDRESSES[1], "value": 0,
        "data": b"\0" * CHUNK, "gas": 600_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    return Account.sign_transaction(fields, DEV_KEYS[0]).raw_transaction.to_0x_hex()


def fill(node: DevNode, first_nonce: int, limit: int) -> int:
    """Send big transactions until the node stops taking them; returns the next nonce."""
    nonce = first_nonce
    while nonce < first_nonce + limit and node.proc.poll() is None:
        try:
            rpc(node.url, "eth_sendRawTransaction", big_tx(nonce), timeout=10)
        except (RuntimeError, OSError):
            break
        nonce += 1
    return nonce


def test_map_grows_then_a_full_disk_stops_the_node_cleanly(small_disk):
    datadir = small_disk / "data"
    limits = ["--storage-map-mib", "1", "--storage-min-free-mib", "8"]
    node = DevNode.start(datadir, extra=limits)
    try:
        with honest_client(node.url, after=False) as probe:  # it halts
            nonce = fill(node, 0, 2000)
            node.proc.wait(30)
        assert node.proc.returncode == 1
        log = node.log()
        assert "storage map of" in log and "grown to 2 MiB" in log, log[-3000:]
        halted = [line for line in log.splitlines() if "node halted" in line]
        assert len(halted) == 1 and "the node keeps at least 8 MiB, --storage-min-free-mib" in halted[0]
        assert nonce > 60  # tens of megabytes went through a 1 MiB map first
        assert len(probe.latencies) >= 100, len(probe.latencies)
        assert answered_honestly(probe, errors_allowed=True)  # none once it stopped
    finally:
        node.stop()
    # room again (a lower floor): the same head, nothing lost, and it goes on
    node = DevNode.start(datadir, extra=["--storage-min-free-mib", "2"])
    try:
        head = int(rpc(node.url, "eth_blockNumber"), 16)
        committed = int(rpc(node.url, "eth_getTransactionCount", DEV_ADDRESSES[0], "latest"), 16)
        assert head == committed > 60  # one block per transaction, every one of them readable
        assert len(rpc(node.url, "eth_getBlockByNumber", hex(head), False)["transactions"]) == 1
        # the evidence store matches roots exactly: a trailing newline is not a root
        root = "0x" + "ab" * 32
        assert rpc(node.url, "hubao_getEvidence", root) == []
        with pytest.raises(RuntimeError) as refused:
            rpc(node.url, "hubao_getEvidence", root + "\n")
        assert refused.value.args[:2] == (
            -32602,
            f"evidence root must be 0x and 64 hex digits, got {root + chr(10)!r}",
        )
        fill(node, committed, 3)
        deadline = time.monotonic() + 10
        while int(rpc(node.url, "eth_blockNumber"), 16) < head + 3:
            assert time.monotonic() < deadline, "no blocks after the restart"
            time.sleep(0.05)
    finally:
        node.stop()


def test_atomic_write_replaces_and_flushes_the_folder(tmp_path):
    """The one crash-safe write (node/files.py): old or new content, never a torn or stray file."""
    target = tmp_path / "keys" / "k.json"
    atomic_write(target, "first")
    atomic_write(target, b"second", mode=0o600)
    assert target.read_text() == "second" and (target.stat().st_mode & 0o777) == 0o600
    with pytest.raises(FileExistsError):
        atomic_write(target, "third", exclusive=True)
    assert sorted(p.name for p in Path(target.parent).iterdir()) == ["k.json"]
