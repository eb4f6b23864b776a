"""One authenticated link: a writer task, a reader task, an ordered gossip worker and a keep-alive.

What a peer can make this node hold is bounded per link: frames waiting to be sent (`MAX_QUEUE`,
then the slow peer is dropped), received gossip waiting for the handlers (`MAX_INBOX` frames and
`MAX_INBOX_BYTES`; beyond either the link stops being read, so TCP pushes back on the sender),
and answers to its requests (never more than a frame: a handler's oversized answer goes back as
an error instead of a frame the peer would have to drop the link for).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
import struct
from typing import TYPE_CHECKING

from node.p2p.abc import PeerInfo, PeerUnavailable
from node.p2p.framing import (
    ERROR,
    GOSSIP,
    MAX_FRAME,
    OK,
    PING,
    PONG,
    REQUEST,
    RESPONSE,
    ProtocolError,
    frame,
    read_frame,
    topic_split,
)

if TYPE_CHECKING:
    from node.p2p.transport import TlsPeerNetwork

log = logging.getLogger("node.p2p.transport")

MAX_QUEUE = 20_000  # frames waiting for a slow peer before it is dropped
MAX_INBOX = 10_000  # received gossip frames waiting for the handlers
MAX_INBOX_BYTES = 64 * 1024 * 1024  # and their bytes
RETIRE_GRACE = 2.0
ANSWER_ROOM = MAX_FRAME - 2 - 9  # a RESPONSE frame's data after its request id and status


class Connection:
    def __init__(self, net: TlsPeerNetwork, reader, writer, info: PeerInfo) -> None:
        self.net = net
        self.reader = reader
        self.writer = writer
        self.info = info
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.inbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(MAX_INBOX)
        self.inbox_bytes = 0
        self._room = asyncio.Event()  # set while inbox_bytes is under MAX_INBOX_BYTES
        self._room.set()
        self.pending: dict[int, asyncio.Future] = {}
        self.frames = 0  # frames received, for the keep-alive watchdog
        self.closed = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    @property
    def node_id(self) -> str:
        return self.info.node_id

    def send(self, data: bytes) -> None:
        if self.closed.is_set():
            return
        if self.outbox.qsize() > MAX_QUEUE:
            self.close("too slow: send queue full")
            return
        self.outbox.put_nowait(data)

    def start(self) -> None:
        self.net._links.add(self)
        loop = asyncio.get_running_loop()
        self.tasks = [
            loop.create_task(self._write_loop()),
            loop.create_task(self._read_loop()),
            loop.create_task(self._gossip_loop()),
            loop.create_task(self._ping_loop()),
        ]

    async def _write_loop(self) -> None:
        try:
            while (data := await self.outbox.get()) is not None:
                self.writer.write(data)
                if self.outbox.empty():
                    await self.writer.drain()
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            self.close(f"write failed: {exc!r}")

    async def _ping_loop(self) -> None:
        """Keep-alive and dead-link detection, counted in wake-ups rather than wall time: after our
        own event loop was busy (executing a large block) the reader gets its turn before the link
        is judged, so a busy node never mistakes its own stall for a silent peer."""
        config = self.net.config
        allowed = max(2, math.ceil(config.idle_timeout / config.ping_interval))
        seen, misses = self.frames, 0
        while not self.closed.is_set():
            await asyncio.sleep(config.ping_interval)
            self.send(frame(PING, b""))
            misses = 0 if self.frames != seen else misses + 1
            seen = self.frames
            if misses >= allowed:
                self.close("idle timeout")
                return

    async def _read_loop(self) -> None:
        reason = "closed by peer"
        try:
            while True:
                kind, data = await read_frame(self.reader, MAX_FRAME)
                self.frames += 1
                if kind == GOSSIP:
                    await self._queue_gossip(data)
                else:
                    self._dispatch(kind, data)
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("dropping peer %s: %s", self.node_id, exc)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ssl.SSLError) as exc:
            reason = f"read failed: {exc!r}"
        self.close(reason)

    async def _queue_gossip(self, data: bytes) -> None:
        item = topic_split(data)
        self.inbox_bytes += len(data)
        if self.inbox_bytes > MAX_INBOX_BYTES:
            self._room.clear()
        await self.inbox.put(item)
        await self._room.wait()

    async def _gossip_loop(self) -> None:
        while (item := await self.inbox.get()) is not None:
            self.inbox_bytes -= 1 + len(item[0]) + len(item[1])
            if self.inbox_bytes <= MAX_INBOX_BYTES:
                self._room.set()
            await self.net.gossip.deliver(self.node_id, *item)

    def _dispatch(self, kind: int, data: bytes) -> None:
        if kind == REQUEST:
            if len(data) < 8:
                raise ProtocolError("short request")
            topic, payload = topic_split(data[8:])
            self.net._spawn(self._answer(data[:8], topic, payload))
        elif kind == RESPONSE:
            if len(data) < 9:
                raise ProtocolError("short response")
            (rid,) = struct.unpack(">Q", data[:8])
            future = self.pending.pop(rid, None)
            if future is not None and not future.done():
                future.set_result((data[8], data[9:]))
        elif kind == PING:
            self.send(frame(PONG, b""))
        elif kind != PONG:
            raise ProtocolError(f"unexpected frame kind {kind}")

    async def _answer(self, rid: bytes, topic: str, payload: bytes) -> None:
        handler = self.net._servers.get(topic)
        if handler is None:
            self.send(frame(RESPONSE, rid + bytes((ERROR,)) + f"no handler for {topic!r}".encode()))
            return
        try:
            answer = await handler(self.node_id, payload)
            if len(answer) > ANSWER_ROOM:
                raise ValueError(f"answer of {len(answer)} bytes exceeds the {MAX_FRAME}-byte frame")
            self.send(frame(RESPONSE, rid + bytes((OK,)) + answer))
        except Exception as exc:
            log.info("request %s from %s failed: %r", topic, self.node_id, exc)
            self.send(frame(RESPONSE, rid + bytes((ERROR,)) + str(exc).encode()[:4096]))

    def retire(self, reason: str) -> None:
        """Stop using this link for new messages but keep reading it, and flushing what was queued,
        for a grace period: the peer may not have switched to the preferred link yet."""
        self.net._forget(self)
        asyncio.get_running_loop().call_later(RETIRE_GRACE, self.close, reason)

    def close(self, reason: str) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        log.info("connection to %s (%s) closed: %s", self.node_id, self.info.remote, reason)
        self.outbox.put_nowait(None)
        self._room.set()
        with contextlib.suppress(asyncio.QueueFull):
            self.inbox.put_nowait(None)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(PeerUnavailable(f"{self.node_id}: {reason}"))
        self.pending.clear()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
        self.net._forget(self)
        self.net._links.discard(self)
