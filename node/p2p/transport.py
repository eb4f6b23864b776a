"""Mutual-TLS TCP transport: the peer network of one node, between authenticated consortium nodes.

The wire is `framing`'s, the handshake `handshake`'s (pinned certificates, HELLO and AUTH), each
authenticated link a `links.Connection`, gossip `gossip`'s (delivered once, relayed only by the
handlers). This module holds the network: the listener and the dialers, the table of links,
bans, requests. Anything malformed, unexpected or unauthenticated closes that one connection; the
node keeps running.

Before a peer has proven who it is, what it can cost is bounded: one deadline for TLS, HELLO and
AUTH together (`handshake_timeout`, geth's 5 s), at most `max_pending_peers` inbound handshakes at
once and `max_pending_per_ip` from one address (refused before TLS), frames no larger than the
handshake's own, and at most `max_peers` authenticated peers.

One connection per peer: when two nodes dial each other at once, both keep the connection dialled
by the smaller address. Dialling is per configured `host:port`, with exponential back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import struct
import time
from collections.abc import Callable, Iterable

from node.p2p.abc import (
    GossipHandler,
    PeerHandler,
    PeerInfo,
    PeerNetworkAPI,
    PeerUnavailable,
    RequestFailed,
    RequestHandler,
)
from node.p2p.config import P2PConfig
from node.p2p.framing import (
    GOSSIP,
    MAX_FRAME,
    OK,
    READ_BUFFER,
    REQUEST,
    VERSION,
    ProtocolError,
    frame,
    topic_join,
)
from node.p2p.gossip import Gossip
from node.p2p.handshake import Identity, PendingHandshakes, authenticate, tls_contexts
from node.p2p.identity import node_address
from node.p2p.links import Connection
from node.p2p.refusals import Refusals

__all__ = ["P2PConfig", "TlsPeerNetwork"]

log = logging.getLogger(__name__)

BACKOFF_START, BACKOFF_CAP = 0.25, 8.0
BAN_SECONDS = 10.0
HANDSHAKE_ERRORS = (OSError, TimeoutError, ssl.SSLError, ProtocolError, asyncio.IncompleteReadError)


class TlsPeerNetwork(PeerNetworkAPI):
    def __init__(self, config: P2PConfig, node_key: bytes, is_node_allowed: Callable[[str], bool]) -> None:
        self.config = config
        self.limits = config.limits
        self.node_id = node_address(node_key)
        self.is_node_allowed = is_node_allowed
        self._server_ctx, self._client_ctx = tls_contexts(config)
        self._me = Identity(config, node_key, self.node_id)
        self._conns: dict[str, Connection] = {}  # the one link in use per peer
        self._links: set[Connection] = set()  # every open link, retiring duplicates included
        self.gossip = Gossip()
        self._servers: dict[str, RequestHandler] = {}
        self._peer_handlers: list[PeerHandler] = []
        self._banned: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.base_events.Server | None = None
        self._rids = itertools.count(1)
        self._pending = PendingHandshakes(self.limits.max_pending_peers, self.limits.max_pending_per_ip)
        self.refusals = Refusals(log)
        self._running = False
        self.listen_port = config.port

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._running = True
        self._server = await asyncio.start_server(
            self._accept, self.config.host, self.config.port, limit=READ_BUFFER
        )
        self.listen_port = self._server.sockets[0].getsockname()[1]
        log.info("p2p %s listening on %s:%s", self.node_id, self.config.host, self.listen_port)
        for address in self.config.peers:
            self._spawn(self._dial_loop(address))

    async def stop(self) -> None:
        self._running = False
        if self._server is not None:
            self._server.close()
        for conn in list(self._links):
            conn.close("node stopping")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- connections ----------------------------------------------------------------------------
    async def _dial_loop(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        delay = BACKOFF_START
        while self._running:
            started = time.monotonic()
            peer_id = None
            try:
                conn = await self._dial(host, int(port), address)
                if conn is None:  # that address is us
                    return
                peer_id = conn.node_id
                await conn.closed.wait()
            except HANDSHAKE_ERRORS as exc:
                log.debug("dial %s failed: %r", address, exc)
            if time.monotonic() - started > 10:
                delay = BACKOFF_START
            # While the peer is connected the other way round, there is nothing to redial.
            while self._running and peer_id and peer_id in self._conns:
                await asyncio.sleep(0.5)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)

    async def _dial(self, host: str, port: int, address: str) -> Connection | None:
        writer = None
        try:
            async with asyncio.timeout(self.limits.handshake_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._client_ctx, limit=READ_BUFFER
                )
                peer = await authenticate(reader, writer, self._me, self._admit)
        except BaseException:
            if writer is not None:
                writer.close()
            raise
        if peer is None:
            writer.close()
            return None
        return self._connected(reader, writer, peer, inbound=False, remote=address)

    async def _accept(self, reader, writer) -> None:
        peername = writer.get_extra_info("peername")
        ip = peername[0] if peername else "?"
        remote = f"{ip}:{peername[1]}" if peername else "?"
        refused = self._pending.take(ip)
        if refused is not None:  # before TLS: an excess connection costs a close, nothing more
            self.refusals.refuse(ip, "inbound connection", refused)
            writer.close()
            return
        try:
            # TLS here rather than in start_server, which drops a refused certificate silently. It
            # must start in this first step of the task, before the loop reads the ClientHello
            # into the plain stream (asyncio.timeout adds no step; wait_for would).
            async with asyncio.timeout(self.limits.handshake_timeout):
                await writer.start_tls(self._server_ctx, ssl_handshake_timeout=self.limits.handshake_timeout)
                peer = await authenticate(reader, writer, self._me, self._admit)
            if peer is None:
                writer.close()
                return
            self._connected(reader, writer, peer, inbound=True, remote=remote)
        except HANDSHAKE_ERRORS as exc:
            self.refusals.refuse(ip, f"inbound handshake ({type(exc).__name__})", repr(exc))
            writer.close()
        except Exception:  # a bug must not take the listener down
            log.exception("inbound %s failed", remote)
            writer.close()
        finally:
            self._pending.release(ip)

    def _connected(self, reader, writer, claimed: str, inbound: bool, remote: str) -> Connection:
        """Count an authenticated link: it replaces or yields to an existing one to the same peer."""
        info = PeerInfo(
            node_id=claimed, remote=remote, inbound=inbound, connected_at=time.time(), version=VERSION
        )
        conn = Connection(self, reader, writer, info)
        existing = self._conns.get(claimed)
        if existing is not None and not existing.closed.is_set():
            # Both ends keep the link dialled by the smaller address; otherwise the newer one wins.
            preferred = min(self.node_id, claimed)

            def dialler(c: Connection) -> str:
                return c.node_id if c.info.inbound else self.node_id

            if dialler(existing) == preferred and dialler(conn) != preferred:
                conn.start()  # the peer may already be sending on it: read until it retires too
                conn.retire("duplicate of the preferred connection")
                return conn
            existing.retire("replaced by the preferred connection")
        self._conns[claimed] = conn
        conn.start()
        log.info("peer %s connected (%s, %s)", claimed, remote, "in" if inbound else "out")
        for handler in self._peer_handlers:
            self._spawn(self._run_peer_handler(handler, info))
        return conn

    def _admit(self, node_id: str) -> None:
        if not self.is_node_allowed(node_id):
            raise ProtocolError(f"node {node_id} is not on the node allowlist")
        if self._banned.get(node_id, 0) > time.monotonic():
            raise ProtocolError(f"node {node_id} is banned for a while")
        if node_id not in self._conns and len(self._conns) >= self.limits.max_peers:
            raise ProtocolError(f"already {len(self._conns)} peers (max_peers {self.limits.max_peers})")

    async def _run_peer_handler(self, handler: PeerHandler, info: PeerInfo) -> None:
        try:
            await handler(info)
        except Exception:
            log.exception("peer-connected handler failed for %s", info.node_id)

    def _forget(self, conn: Connection) -> None:
        if self._conns.get(conn.node_id) is conn:
            del self._conns[conn.node_id]

    def enforce_allowlist(self) -> None:
        """Drop peers that were removed from the node allowlist since they connected (a retiring
        duplicate link too: it is still read for a grace period)."""
        for conn in list(self._links):
            if not self.is_node_allowed(conn.node_id):
                conn.close("removed from the node allowlist")

    # -- messages -------------------------------------------------------------------------------
    def broadcast(self, topic: str, payload: bytes, exclude: Iterable[str] = ()) -> None:
        data = frame(GOSSIP, topic_join(topic, payload))
        if len(data) - 4 > MAX_FRAME:
            raise ValueError("message larger than the maximum frame")
        for peer in self.gossip.recipients(topic, payload, list(self._conns), exclude):
            self._conns[peer].send(data)

    def subscribe(self, topic: str, handler: GossipHandler) -> None:
        self.gossip.subscribe(topic, handler)

    def serve(self, topic: str, handler: RequestHandler) -> None:
        self._servers[topic] = handler

    async def request(self, peer_id: str, topic: str, payload: bytes, timeout: float) -> bytes:
        conn = self._conns.get(peer_id.lower())
        if conn is None or conn.closed.is_set():
            raise PeerUnavailable(peer_id)
        rid = next(self._rids)
        future = asyncio.get_running_loop().create_future()
        conn.pending[rid] = future
        conn.send(frame(REQUEST, struct.pack(">Q", rid) + topic_join(topic, payload)))
        try:
            status, answer = await asyncio.wait_for(future, timeout)
        finally:
            conn.pending.pop(rid, None)
        if status != OK:
            raise RequestFailed(answer.decode(errors="replace"))
        return answer

    def peers(self) -> list[PeerInfo]:
        return [c.info for c in self._conns.values() if not c.closed.is_set()]

    def on_peer_connected(self, handler: PeerHandler) -> None:
        self._peer_handlers.append(handler)

    def punish(self, peer_id: str, reason: str) -> None:
        peer_id = peer_id.lower()
        if self._banned.get(peer_id, 0) <= time.monotonic():  # logged once per ban
            log.warning("punishing peer %s: %s", peer_id, reason)
        self._banned[peer_id] = time.monotonic() + BAN_SECONDS
        for conn in [c for c in self._links if c.node_id == peer_id]:
            conn.close(f"punished: {reason}")
