"""The listening socket under the JSON-RPC app: what no client may hold for long or in numbers.

aiohttp has an idle keep-alive timeout but no header or body read timeout and no connection cap,
so a client sending a byte every few seconds holds a connection for ever. Each accepted
connection is wrapped in `_Guarded`, an asyncio protocol in front of aiohttp's own that
- counts connections in total and per client address and answers 503 past either cap
  (Besu's `--rpc-http-max-active-connections`);
- closes a connection whose request headers are not complete `read_header_timeout` seconds after
  the connection opened or the request's first byte arrived (geth's ReadHeaderTimeout);
- gives the app the moment the request began, so the body must be in `read_timeout` seconds after
  it (geth's ReadTimeout covers headers and body: `Listener.read_body`).
A WebSocket is bounded by the caps and its heartbeat, not by read timeouts.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from node.errors import INVALID_REQUEST, LIMIT_EXCEEDED
from node.rpc.access import OncePerClient, Refusal

LINGER = 2.0  # seconds aiohttp may read on an unread body after answering (its default: 10)


@dataclass(frozen=True)
class HttpLimits:
    read_header_timeout: float = 10.0  # seconds for a request's headers
    read_timeout: float = 30.0  # seconds for a whole request, headers and body (geth: 30 s)
    idle_timeout: float = 120.0  # seconds a kept-alive connection may wait for its next request (geth)
    max_connections: int = 256  # open connections, HTTP and WebSocket
    max_connections_per_ip: int = 64  # of them, from one client address


def _raw_reply(status: int, reason: str, code: int, message: str) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Guarded(asyncio.Protocol):
    """One connection: admitted under the caps, timed while it reads a request's headers."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.client: str | None = None
        self.began: float | None = None  # when the request being read began
        self.busy = False  # the app is handling a request (or a WebSocket)
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.client = peer[0] if peer else None
        why = self.listener.admit(self.client)
        if why is not None:
            self.listener.refusals.warn(self.client, "connection", why)
            transport.write(_raw_reply(503, "Service Unavailable", LIMIT_EXCEEDED, why))  # type: ignore[attr-defined]
            transport.close()
            return
        self.inner = self.listener.runner.server()
        self.listener.guards[transport] = self
        self.inner.connection_made(transport)
        self._await_headers()

    def _await_headers(self) -> None:
        loop = asyncio.get_running_loop()
        self.began = loop.time()
        self._timer = loop.call_later(self.listener.limits.read_header_timeout, self._headers_late)

    def _headers_late(self) -> None:
        self._timer = None
        if self.busy or self.transport is None or self.transport.is_closing():
            return
        seconds = self.listener.limits.read_header_timeout
        why = f"request headers not received within {seconds:g} s"
        self.listener.refusals.warn(self.client, "slow headers", why)
        self.transport.write(_raw_reply(408, "Request Timeout", INVALID_REQUEST, why))
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if not self.busy and self._timer is None:  # the first byte of the next request
            self._await_headers()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.inner is None:
            return
        self.listener.guards.pop(self.transport, None)
        self.listener.release(self.client)
        self.inner.connection_lost(exc)

    # -- what the app tells it -------------------------------------------------------------------
    def request_started(self) -> float:
        self.busy = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return self.began if self.began is not None else asyncio.get_running_loop().time()

    def request_done(self) -> None:
        self.busy, self.began = False, None


class Listener:
    """One JSON-RPC listener: an aiohttp app behind a socket that bounds connections and read time."""

    def __init__(self, app: web.Application, limits: HttpLimits, refusals: OncePerClient) -> None:
        self.app, self.limits, self.refusals = app, limits, refusals
        self.runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=limits.idle_timeout,
            lingering_time=min(LINGER, limits.read_header_timeout),
        )
        self.guards: dict[asyncio.BaseTransport, _Guarded] = {}
        self.total = 0
        self.per_client: Counter[str | None] = Counter()
        self._server: asyncio.AbstractServer | None = None
        self.port: int | None = None

    def admit(self, client: str | None) -> str | None:
        """None when the connection may stay, else why not."""
        if self.total >= self.limits.max_connections:
            return f"too many connections (at most {self.limits.max_connections})"
        if self.per_client[client] >= self.limits.max_connections_per_ip:
            return f"too many connections from {client} (at most {self.limits.max_connections_per_ip})"
        self.total += 1
        self.per_client[client] += 1
        return None

    def release(self, client: str | None) -> None:
        self.total -= 1
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]

    async def start(self, host: str, port: int) -> int:
        await self.runner.setup()
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: _Guarded(self), host, port, reuse_address=True)
        except OSError:
            await self.runner.cleanup()
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.runner.cleanup()

    # -- for the app's handlers ------------------------------------------------------------------
    def started(self, request: web.BaseRequest) -> float:
        """Mark the request's connection busy; the loop time its request began."""
        guard = self.guards.get(request.transport)
        return guard.request_started() if guard is not None else asyncio.get_running_loop().time()

    def finished(self, request: web.BaseRequest) -> None:
        guard = self.guards.get(request.transport)
        if guard is not None:
            guard.request_done()

    async def read_body(self, request: web.Request, began: float) -> bytes:
        """The request body, if it is all in by `read_timeout` after the request began."""
        remaining = began + self.limits.read_timeout - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                return await request.read()
        except TimeoutError:
            why = f"request not received within {self.limits.read_timeout:g} s"
            raise Refusal(408, INVALID_REQUEST, why, "slow body") from None
