"""Mutual-TLS TCP transport: framed, versioned messages between authenticated consortium nodes.

Wire format. Every frame is `u32 length || body`, `body = version(1) || kind(1) || data`, with
`length <= MAX_FRAME`. After the TLS handshake (both sides present one of the consortium's pinned
node certificates; there is no CA) each side sends HELLO (chain id, node address, fresh nonce)
and then AUTH (its node key's signature binding both certificates and the other side's nonce, see
`identity`); a side sends AUTH only after admitting the node its peer's HELLO claims (the
certificate pinned for that address, allowlist, bans), so no node ever counts a link that the
other end refuses. Only then are GOSSIP / REQUEST / RESPONSE / PING / PONG frames accepted.
Anything malformed, unexpected or unauthenticated closes that one connection; the node keeps running.

One connection per peer: when two nodes dial each other at once, both keep the connection dialled
by the smaller address. Dialling is per configured `host:port`, with exponential back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import ssl
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from node.p2p.abc import (
    GossipHandler,
    PeerHandler,
    PeerInfo,
    PeerNetworkAPI,
    PeerUnavailable,
    RequestFailed,
    RequestHandler,
)
from node.p2p.identity import cert_fingerprint, node_address, recover_auth, sign_auth
from node.p2p.memory import SeenCache, message_id

log = logging.getLogger(__name__)

VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT = 5.0
PING_INTERVAL = 2.0
IDLE_TIMEOUT = 20.0  # no frame at all for this long: the link is dead (e.g. a silent partition)
MAX_QUEUE = 20_000  # frames waiting for a slow peer before it is dropped
MAX_INBOX = 10_000  # received gossip waiting for handlers; beyond it we stop reading (TCP pushes back)
MAX_HANDSHAKES = 64  # inbound handshakes in progress at once; more wait (TLS and ECDSA cost CPU)
BACKOFF_START, BACKOFF_CAP = 0.25, 8.0
BAN_SECONDS = 10.0
RETIRE_GRACE = 2.0

HELLO, AUTH, GOSSIP, REQUEST, RESPONSE, PING, PONG = range(7)
OK, ERROR = 0, 1


class ProtocolError(Exception):
    """The peer broke the wire protocol; its connection is closed."""


@dataclass
class P2PConfig:
    host: str
    port: int
    peers: list[str]  # host:port of nodes to dial
    trusted: Mapping[str, str]  # node address -> its TLS certificate (PEM), pinned
    cert: Path
    key: Path
    chain_id: int
    key_password: str | None = None  # the TLS key's, when it is encrypted
    ping_interval: float = PING_INTERVAL
    idle_timeout: float = IDLE_TIMEOUT  # no frame at all for this long: the link is dead


def _der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


def pins(trusted: Mapping[str, str]) -> dict[str, bytes]:
    """Node address -> sha256 of the DER certificate pinned for it."""
    return {address.lower(): cert_fingerprint(_der(pem)) for address, pem in trusted.items()}


def _contexts(config: P2PConfig) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """TLS 1.3 both ways; the only trust anchors are the pinned (self-signed) node certificates,
    so a certificate nobody pinned fails the TLS handshake itself."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ctx in (server, client):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(str(config.cert), str(config.key), password=config.key_password)
        if config.trusted:
            ctx.load_verify_locations(cadata="".join(config.trusted.values()))
        ctx.verify_mode = ssl.CERT_REQUIRED
    # Nodes are named by their node key, not by DNS: any host:port works, the handshake proves who.
    client.check_hostname = False
    return server, client


def _frame(kind: int, data: bytes) -> bytes:
    body = bytes((VERSION, kind)) + data
    return struct.pack(">I", len(body)) + body


def _topic_split(data: bytes) -> tuple[str, bytes]:
    if not data:
        raise ProtocolError("empty message")
    n = data[0]
    if len(data) < 1 + n:
        raise ProtocolError("truncated topic")
    try:
        topic = data[1 : 1 + n].decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("topic not ascii") from exc
    return topic, data[1 + n :]


def _topic_join(topic: str, payload: bytes) -> bytes:
    raw = topic.encode("ascii")
    if len(raw) > 255:
        raise ValueError("topic too long")
    return bytes((len(raw),)) + raw + payload


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">I", head)
    if length < 2 or length > MAX_FRAME:
        raise ProtocolError(f"frame length {length}")
    body = await reader.readexactly(length)
    if body[0] != VERSION:
        raise ProtocolError(f"wire version {body[0]}")
    return body[1], body[2:]


class Connection:
    """One authenticated TLS link: a writer task, a reader task and an ordered gossip worker."""

    def __init__(self, net: TlsPeerNetwork, reader, writer, info: PeerInfo) -> None:
        self.net = net
        self.reader = reader
        self.writer = writer
        self.info = info
        self.outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.inbox: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(MAX_INBOX)
        self.pending: dict[int, asyncio.Future] = {}
        self.frames = 0  # frames received, for the keep-alive watchdog
        self.closed = asyncio.Event()
        self.tasks: list[asyncio.Task] = []

    @property
    def node_id(self) -> str:
        return self.info.node_id

    def send(self, frame: bytes) -> None:
        if self.closed.is_set():
            return
        if self.outbox.qsize() > MAX_QUEUE:
            self.close("too slow: send queue full")
            return
        self.outbox.put_nowait(frame)

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
            while (frame := await self.outbox.get()) is not None:
                self.writer.write(frame)
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
            self.send(_frame(PING, b""))
            misses = 0 if self.frames != seen else misses + 1
            seen = self.frames
            if misses >= allowed:
                self.close("idle timeout")
                return

    async def _read_loop(self) -> None:
        reason = "closed by peer"
        try:
            while True:
                kind, data = await _read_frame(self.reader)
                self.frames += 1
                if kind == GOSSIP:
                    await self.inbox.put(_topic_split(data))
                else:
                    self._dispatch(kind, data)
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            log.warning("dropping peer %s: %s", self.node_id, exc)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, ssl.SSLError) as exc:
            reason = f"read failed: {exc!r}"
        self.close(reason)

    def _dispatch(self, kind: int, data: bytes) -> None:
        if kind == REQUEST:
            if len(data) < 8:
                raise ProtocolError("short request")
            rid = data[:8]
            topic, payload = _topic_split(data[8:])
            self.net._spawn(self._answer(rid, topic, payload))
        elif kind == RESPONSE:
            if len(data) < 9:
                raise ProtocolError("short response")
            (rid,) = struct.unpack(">Q", data[:8])
            future = self.pending.pop(rid, None)
            if future is not None and not future.done():
                future.set_result((data[8], data[9:]))
        elif kind == PING:
            self.send(_frame(PONG, b""))
        elif kind == PONG:
            pass
        else:
            raise ProtocolError(f"unexpected frame kind {kind}")

    async def _gossip_loop(self) -> None:
        while (item := await self.inbox.get()) is not None:
            await self.net._on_gossip(self, *item)

    async def _answer(self, rid: bytes, topic: str, payload: bytes) -> None:
        handler = self.net._servers.get(topic)
        if handler is None:
            self.send(_frame(RESPONSE, rid + bytes((ERROR,)) + f"no handler for {topic!r}".encode()))
            return
        try:
            answer = await handler(self.node_id, payload)
            self.send(_frame(RESPONSE, rid + bytes((OK,)) + answer))
        except Exception as exc:
            log.info("request %s from %s failed: %r", topic, self.node_id, exc)
            self.send(_frame(RESPONSE, rid + bytes((ERROR,)) + str(exc).encode()[:4096]))

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


class TlsPeerNetwork(PeerNetworkAPI):
    def __init__(self, config: P2PConfig, node_key: bytes, is_node_allowed: Callable[[str], bool]) -> None:
        self.config = config
        self.node_key = node_key
        self.node_id = node_address(node_key)
        self.is_node_allowed = is_node_allowed
        self._server_ctx, self._client_ctx = _contexts(config)
        der = x509.load_pem_x509_certificate(Path(config.cert).read_bytes()).public_bytes(Encoding.DER)
        self._own_fp = cert_fingerprint(der)
        self._pins = pins(config.trusted)
        self._conns: dict[str, Connection] = {}  # the one link in use per peer
        self._links: set[Connection] = set()  # every open link, retiring duplicates included
        self._seen = SeenCache()
        self._subs: dict[str, list[GossipHandler]] = {}
        self._servers: dict[str, RequestHandler] = {}
        self._peer_handlers: list[PeerHandler] = []
        self._banned: dict[str, float] = {}
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.base_events.Server | None = None
        self._rids = itertools.count(1)
        self._handshakes = asyncio.Semaphore(MAX_HANDSHAKES)
        self._running = False
        self.listen_port = config.port

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._running = True
        self._server = await asyncio.start_server(
            self._accept, self.config.host, self.config.port, limit=MAX_FRAME
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
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, int(port), ssl=self._client_ctx, limit=MAX_FRAME),
                    HANDSHAKE_TIMEOUT,
                )
                conn = await self._handshake(reader, writer, inbound=False, remote=address)
                if conn is None:  # that address is us
                    return
                peer_id = conn.node_id
                await conn.closed.wait()
            except (OSError, TimeoutError, ssl.SSLError, ProtocolError, asyncio.IncompleteReadError) as exc:
                log.debug("dial %s failed: %r", address, exc)
            except asyncio.CancelledError:
                raise
            if time.monotonic() - started > 10:
                delay = BACKOFF_START
            # While the peer is connected the other way round, there is nothing to redial.
            while self._running and peer_id and peer_id in self._conns:
                await asyncio.sleep(0.5)
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)

    async def _accept(self, reader, writer) -> None:
        peer = writer.get_extra_info("peername")
        remote = f"{peer[0]}:{peer[1]}" if peer else "?"
        try:
            # TLS here rather than in start_server, which drops a refused certificate silently. It
            # must start in this first step of the task, before the loop reads the ClientHello
            # into the plain stream (hence no wait_for, no semaphore before it).
            await writer.start_tls(self._server_ctx, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
            async with self._handshakes:
                await self._handshake(reader, writer, inbound=True, remote=remote)
        except (OSError, TimeoutError, ssl.SSLError, ProtocolError, asyncio.IncompleteReadError) as exc:
            log.info("refused inbound %s: %r", remote, exc)
            with contextlib.suppress(Exception):
                writer.close()
        except Exception:  # a bug must not take the listener down
            log.exception("inbound %s failed", remote)
            with contextlib.suppress(Exception):
                writer.close()

    async def _handshake(self, reader, writer, inbound: bool, remote: str) -> Connection | None:
        try:
            return await asyncio.wait_for(
                self._authenticate(reader, writer, inbound, remote), HANDSHAKE_TIMEOUT
            )
        except BaseException:
            with contextlib.suppress(Exception):
                writer.close()
            raise

    async def _authenticate(self, reader, writer, inbound: bool, remote: str) -> Connection | None:
        ssl_object = writer.get_extra_info("ssl_object")
        peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        if not peer_der:
            raise ProtocolError("no peer certificate")
        peer_fp = cert_fingerprint(peer_der)
        nonce = os.urandom(32)
        writer.write(
            _frame(HELLO, struct.pack(">Q", self.config.chain_id) + bytes.fromhex(self.node_id[2:]) + nonce)
        )
        kind, data = await _read_frame(reader)
        if kind != HELLO or len(data) != 60:
            raise ProtocolError("expected HELLO")
        (chain_id,) = struct.unpack(">Q", data[:8])
        claimed = "0x" + data[8:28].hex()
        peer_nonce = data[28:60]
        if chain_id != self.config.chain_id:
            raise ProtocolError(f"peer on chain {chain_id}")
        if claimed == self.node_id:
            writer.close()
            return None
        if self._pins.get(claimed) != peer_fp:
            raise ProtocolError(f"certificate is not the one pinned for {claimed}")
        # Decide on the claim before our AUTH goes out: the peer counts the link as up as soon as it
        # has verified our AUTH, so a node we refuse must never receive it (otherwise a removed or
        # banned node sees a peer, briefly, every time it redials).
        self._admit(claimed)
        writer.write(_frame(AUTH, sign_auth(self.node_key, self._own_fp, peer_fp, peer_nonce)))
        kind, data = await _read_frame(reader)
        if kind != AUTH or len(data) != 65:
            raise ProtocolError("expected AUTH")
        try:
            signer = recover_auth(data, peer_fp, self._own_fp, nonce)
        except ValueError as exc:
            raise ProtocolError(str(exc)) from exc
        if signer != claimed:
            raise ProtocolError(f"claims {claimed} but key is {signer}")
        self._admit(claimed)  # again, now proven: a new head or a ban may have come in meanwhile
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
    async def _on_gossip(self, conn: Connection, topic: str, payload: bytes) -> None:
        if not self._seen.add(message_id(topic, payload)):
            return
        for handler in self._subs.get(topic, []):
            try:
                await handler(conn.node_id, payload)
            except Exception:
                log.exception("handler for %s failed on a message from %s", topic, conn.node_id)

    def broadcast(self, topic: str, payload: bytes) -> None:
        if not self._seen.add(message_id(topic, payload)):
            return
        frame = _frame(GOSSIP, _topic_join(topic, payload))
        if len(frame) - 4 > MAX_FRAME:
            raise ValueError("message larger than the maximum frame")
        for conn in list(self._conns.values()):
            conn.send(frame)

    def subscribe(self, topic: str, handler: GossipHandler) -> None:
        self._subs.setdefault(topic, []).append(handler)

    def serve(self, topic: str, handler: RequestHandler) -> None:
        self._servers[topic] = handler

    async def request(self, peer_id: str, topic: str, payload: bytes, timeout: float) -> bytes:
        conn = self._conns.get(peer_id.lower())
        if conn is None or conn.closed.is_set():
            raise PeerUnavailable(peer_id)
        rid = next(self._rids)
        future = asyncio.get_running_loop().create_future()
        conn.pending[rid] = future
        conn.send(_frame(REQUEST, struct.pack(">Q", rid) + _topic_join(topic, payload)))
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
        log.warning("punishing peer %s: %s", peer_id, reason)
        self._banned[peer_id] = time.monotonic() + BAN_SECONDS
        for conn in [c for c in self._links if c.node_id == peer_id]:
            conn.close(f"punished: {reason}")
