"""eth_subscribe / eth_unsubscribe over WebSocket: newHeads, logs, newPendingTransactions.

Part of the `eth` namespace, offered by the node core, which feeds it every commit and every
transaction its pool admits. Bounded (docs/nodes.md#limits): at most `ws_max_subscriptions` per
connection and `max_subscriptions` in all, and off the commit path: a commit or an admission only
queues the event (a bounded queue, in order); a notifier task matches it against every
subscription afterwards, in time slices, so the chain never waits on subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from typing import Any

from node.abc import RpcHandler, RpcNamespaceAPI
from node.errors import INVALID_PARAMS, LIMIT_EXCEEDED, RpcError
from node.limits import NodeLimits
from node.rpc.filters import LogCriteria
from node.rpc.format import as_json, hb, header_json, log_json, tx_json

log = logging.getLogger("node.rpc.subscriptions")

KINDS = ("newHeads", "logs", "newPendingTransactions")
MAX_QUEUED_BLOCKS = 64  # blocks waiting for matching; older ones are dropped (with a warning)
MAX_QUEUED_EVENTS = 8192  # blocks and pending transactions waiting, together
SLICE = 0.005  # seconds of matching, then as long for the rest of the node's work


class Subscriptions(RpcNamespaceAPI):
    name = "eth"

    def __init__(self, limits: NodeLimits | None = None) -> None:
        limits = limits or NodeLimits()
        self.per_connection = limits.ws_max_subscriptions
        self.max_total = limits.max_subscriptions
        self.connections: set = set()
        self._events: deque[tuple] = deque()  # ("block", block, receipts) | ("tx", tx), in order
        self._queued_blocks = 0
        self.dropped = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._refused: set[int] = set()  # connections told once that they are over a cap

    def methods(self) -> dict[str, RpcHandler]:
        return {}

    def connection_methods(self) -> dict[str, RpcHandler]:
        return {"eth_subscribe": self.subscribe, "eth_unsubscribe": self.unsubscribe}

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the notifier (on the running loop); events queued before it are delivered."""
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._notify())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- eth_subscribe -------------------------------------------------------------------------
    async def subscribe(self, conn, kind: Any = None, options: Any = None) -> str:
        if kind not in KINDS:
            raise RpcError(INVALID_PARAMS, f'no "{kind}" subscription in eth namespace')
        detail: Any = None
        if kind == "logs":
            detail = LogCriteria.parse(options or {})
        elif kind == "newPendingTransactions":
            detail = bool(options)  # true: full transaction objects
        self._check_caps(conn)
        sub_id = "0x" + secrets.token_hex(16)
        conn.subscriptions[sub_id] = (kind, detail)
        self.connections.add(conn)
        return sub_id

    def _check_caps(self, conn) -> None:
        if len(conn.subscriptions) >= self.per_connection:
            message = f"too many subscriptions on this connection (limit {self.per_connection})"
        elif self.total() >= self.max_total:
            message = f"too many subscriptions on this node (limit {self.max_total})"
        else:
            return
        if id(conn) not in self._refused:  # logged once per client connection
            self._refused.add(id(conn))
            log.warning("refused eth_subscribe from %s: %s", getattr(conn, "peer", "a client"), message)
        raise RpcError(LIMIT_EXCEEDED, message)

    async def unsubscribe(self, conn, sub_id: Any = None) -> bool:
        return conn.subscriptions.pop(sub_id, None) is not None

    def total(self) -> int:
        return sum(len(conn.subscriptions) for conn in self._live())

    def _live(self):
        for conn in list(self.connections):
            if conn.closed:
                self.connections.discard(conn)
                self._refused.discard(id(conn))
                continue
            yield conn

    # -- events: queued on the commit / admission path, delivered by the notifier --------------
    def on_block(self, block, receipts) -> None:
        if not self.connections:
            return
        self._events.append(("block", block, receipts))
        self._queued_blocks += 1
        while self._queued_blocks > MAX_QUEUED_BLOCKS or len(self._events) > MAX_QUEUED_EVENTS:
            self._drop_oldest()
        self._wake_notifier()

    def on_pending(self, tx) -> None:
        if not self.connections:
            return
        self._events.append(("tx", tx))
        while len(self._events) > MAX_QUEUED_EVENTS:
            self._drop_oldest()
        self._wake_notifier()

    def _drop_oldest(self) -> None:
        event = self._events.popleft()
        if event[0] == "block":
            self._queued_blocks -= 1
        if not self.dropped:
            log.warning("subscribers fell behind: dropping the oldest notifications (bounded queue)")
        self.dropped += 1

    def _wake_notifier(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _notify(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._events:
                event = self._events.popleft()
                if event[0] == "block":
                    self._queued_blocks -= 1
                    await self._deliver_block(event[1], event[2])
                else:
                    await self._deliver_tx(event[1])

    async def _deliver_block(self, block, receipts) -> None:
        head, entries = None, None
        started = time.perf_counter()
        for conn in self._live():
            for sub_id, (kind, detail) in list(conn.subscriptions.items()):
                if kind == "newHeads":
                    head = head or as_json(header_json(block.header))
                    conn.notify(sub_id, head)
                elif kind == "logs":
                    entries = entries if entries is not None else block_log_entries(block, receipts)
                    for log_, entry in entries:
                        if detail.matches(log_):
                            conn.notify(sub_id, entry)
                if time.perf_counter() - started > SLICE:
                    await asyncio.sleep(SLICE)  # at most half the loop's time
                    started = time.perf_counter()

    async def _deliver_tx(self, tx) -> None:
        started, whole = time.perf_counter(), None
        for conn in self._live():
            for sub_id, (kind, full) in list(conn.subscriptions.items()):
                if kind == "newPendingTransactions":
                    if full:
                        whole = whole or as_json(tx_json(tx))
                    conn.notify(sub_id, whole if full else as_json(hb(tx.hash)))
            if time.perf_counter() - started > SLICE:
                await asyncio.sleep(SLICE)  # at most half the loop's time
                started = time.perf_counter()


def block_log_entries(block, receipts) -> list[tuple[Any, str]]:
    """Every log of a block with its JSON, made once per block for all subscriptions."""
    header, out, log_index = block.header, [], 0
    for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for log_ in receipt.logs:
            out.append((log_, as_json(log_json(log_, header, tx.hash, tx_index, log_index))))
            log_index += 1
    return out
