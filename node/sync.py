"""Block sync: a node that is behind (restarted, new, or a member node) fetches committed blocks
from its peers over the p2p "sync" topic and imports them in order, then keeps following the head.

The importer (the QBFT engine's `import_block`) checks each block's commit seals against the
validator set at that height before executing and committing it, so a peer can slow us down but
never make us accept a block a quorum of validators did not seal.

Wire (RLP): request [b"status"] -> [height, head hash]; [b"blocks", first, count] -> [block RLP...].

Both sides run on the node's event loop next to consensus and JSON-RPC: the importer executes
a heavy block on the execution thread (node/offloop.py) and a small one on the loop, holding the
execution lock for one block at a time so consensus messages get their turn between any two, and
pauses after each (half its import time, at most IMPORT_PAUSE); the server yields after every
SLICE seconds of encoding, and a node catching up answers JSON-RPC throughout (`status` feeds
eth_syncing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import rlp

from node.p2p.abc import TOPIC_SYNC, NetworkError, PeerNetworkAPI

log = logging.getLogger("node.sync")

MAX_BLOCKS_PER_REQUEST = 64
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
REQUEST_TIMEOUT = 10.0
SLICE = 0.02  # seconds of serving before the loop gets to run other work
IMPORT_PAUSE = 0.02  # at most this long after each imported block, for JSON-RPC and consensus


class SyncError(Exception):
    """A peer's answer that cannot be used."""


def _int(raw: Any) -> int:
    if not isinstance(raw, bytes) or len(raw) > 8:
        raise SyncError("expected an integer")
    return int.from_bytes(raw, "big")


class BlockSync:
    def __init__(
        self,
        chain: Any,
        network: PeerNetworkAPI,
        importer: Callable[[Any], Awaitable[None]],
        decode_block: Callable[[bytes], Any],
        interval: float = 2.0,
    ) -> None:
        self.chain = chain
        self.network = network
        self.importer = importer
        self.decode_block = decode_block
        self.interval = interval
        self.syncing = False
        self.highest_seen = 0
        self.starting_block: int | None = None  # head when this catch-up began (geth's startingBlock)
        self.slowest = 0.0  # seconds of the slowest block import in the last catch-up (logged)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self.network.serve(TOPIC_SYNC, self._serve)
        self.network.on_peer_connected(self._on_peer)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def trigger(self, height_hint: int = 0) -> None:
        """Someone showed us a height above ours: catch up soon."""
        self.highest_seen = max(self.highest_seen, height_hint)
        self._wake.set()

    async def _on_peer(self, peer: Any) -> None:
        self._wake.set()

    def status(self) -> tuple[int, int, int] | None:
        """(startingBlock, currentBlock, highestBlock) while catching up with a peer, else None."""
        head = self.chain.head.block_number
        if not self.syncing or self.highest_seen <= head:
            return None
        start = head if self.starting_block is None else self.starting_block
        return start, head, self.highest_seen

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sync round failed")

    # --- client ----------------------------------------------------------------------------

    async def _status(self, peer_id: str) -> tuple[str, int]:
        raw = await self.network.request(peer_id, TOPIC_SYNC, rlp.encode([b"status"]), REQUEST_TIMEOUT)
        items = rlp.decode(raw)
        if not isinstance(items, list) or len(items) != 2:
            raise SyncError("bad status answer")
        return peer_id, _int(items[0])

    async def catch_up(self) -> int:
        """Import everything our best peer has above our head; returns how many blocks."""
        peers = [p.node_id for p in self.network.peers()]
        if not peers:
            return 0
        answers = await asyncio.gather(*(self._status(p) for p in peers), return_exceptions=True)
        heights = sorted((a for a in answers if isinstance(a, tuple)), key=lambda a: -a[1])
        imported = 0
        for peer_id, height in heights:
            self.highest_seen = max(self.highest_seen, height)
            if height <= self.chain.head.block_number:
                break
            if self.starting_block is None:
                self.starting_block = self.chain.head.block_number
            self.syncing = True
            try:
                imported += await self._fetch_from(peer_id, height)
            except (NetworkError, TimeoutError, SyncError) as exc:
                log.info("sync from %s stopped: %s", peer_id, exc)
            finally:
                self.syncing = False
        if self.chain.head.block_number >= self.highest_seen:
            self.starting_block = None  # caught up: the next catch-up starts afresh
        return imported

    async def _fetch_from(self, peer_id: str, height: int) -> int:
        imported, self.slowest = 0, 0.0
        while self.chain.head.block_number < height:
            first = self.chain.head.block_number + 1
            count = min(MAX_BLOCKS_PER_REQUEST, height - first + 1)
            raw = await self.network.request(
                peer_id, TOPIC_SYNC, rlp.encode([b"blocks", first, count]), REQUEST_TIMEOUT
            )
            items = rlp.decode(raw)
            if not isinstance(items, list) or not items:
                raise SyncError("peer sent no blocks")
            imported += await self._import(peer_id, items)
        if imported:
            log.info(
                "synced %d blocks from %s, head #%d (slowest import %.0f ms)",
                imported, peer_id, self.chain.head.block_number, self.slowest * 1000,
            )  # fmt: skip
        return imported

    async def _import(self, peer_id: str, items: list) -> int:
        """Decode and import blocks one at a time, each executed off the loop, under the execution
        lock (consensus takes it between any two)."""
        imported = 0
        for item in items:
            try:
                block = self.decode_block(item)
            except Exception as exc:
                self.network.punish(peer_id, f"undecodable block in sync: {exc}")
                raise SyncError(str(exc)) from exc
            await asyncio.sleep(0)
            started = time.perf_counter()
            async with self.chain.execution.lock:
                if block.header.block_number <= self.chain.head.block_number:
                    continue  # consensus committed it meanwhile
                try:
                    await self.importer(block)
                except Exception as exc:
                    self.network.punish(peer_id, f"invalid block in sync: {exc}")
                    raise SyncError(f"block #{block.header.block_number}: {exc}") from exc
            took = time.perf_counter() - started
            self.slowest = max(self.slowest, took)
            imported += 1
            await asyncio.sleep(min(IMPORT_PAUSE, took / 2))  # a small block ran on the loop itself
        return imported

    # --- server ----------------------------------------------------------------------------

    async def _serve(self, peer_id: str, payload: bytes) -> bytes:
        try:
            request = rlp.decode(payload)
            kind = request[0]
        except Exception as exc:
            raise SyncError("malformed sync request") from exc
        head = self.chain.head
        if kind == b"status":
            return rlp.encode([head.block_number, self.chain.block_hash(head)])
        if kind == b"blocks" and len(request) == 3:
            first, count = _int(request[1]), min(_int(request[2]), MAX_BLOCKS_PER_REQUEST)
            return rlp.encode(await self._blocks(first, min(first + count, head.block_number + 1)))
        raise SyncError(f"unknown sync request {kind!r}")

    async def _blocks(self, first: int, stop: int) -> list[bytes]:
        """Blocks [first, stop) encoded, within MAX_RESPONSE_BYTES, yielding every SLICE seconds."""
        out: list[bytes] = []
        size, started = 0, time.perf_counter()
        for number in range(first, stop):
            block = self.chain.get_block_by_number(number)
            if block is None:
                break
            data = rlp.encode(block)
            size += len(data)
            if out and size > MAX_RESPONSE_BYTES:
                break
            out.append(data)
            if time.perf_counter() - started > SLICE:
                await asyncio.sleep(0)
                started = time.perf_counter()
        return out
