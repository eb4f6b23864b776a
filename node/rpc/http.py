"""JSON-RPC over HTTP POST and WebSocket on one aiohttp app, behind one listener's access checks
(`node/rpc/access.py`): Host, Origin and CORS, content type, JWT; then the server's dispatch.

Every refusal is an HTTP status with a JSON-RPC error body, logged once per client address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from node.errors import INVALID_REQUEST
from node.rpc.access import UNAUTHORIZED, ListenerPolicy, OncePerClient, Refusal
from node.rpc.server import WsConnection, encode

if TYPE_CHECKING:
    from node.rpc.listener import Listener
    from node.rpc.server import RpcServer

MAX_BODY = 5 * 1024 * 1024  # geth's http body limit
MAX_WS_MESSAGE = 15 * 1024 * 1024


def _too_large() -> Refusal:
    return Refusal(413, INVALID_REQUEST, f"request body too large (max {MAX_BODY} bytes)", "size")


BEGAN = web.RequestKey("began", float)  # loop time the request began (its first byte)
STATUS = {"status": "ok", "jsonrpc": "POST JSON-RPC 2.0 here, or open a WebSocket"}
PREFLIGHT = {
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}


def _error_body(code: int, message: str) -> bytes:
    return encode({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}})


class HttpFront:
    """The aiohttp app of one listener."""

    def __init__(self, server: RpcServer, policy: ListenerPolicy, refusals: OncePerClient) -> None:
        self.server, self.policy, self.refusals = server, policy, refusals
        self.listener: Listener | None = None  # set once the listener wraps the app

    def make_app(self, metrics_handler: Callable | None = None) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._checks])
        app.router.add_post("/", self._post)
        app.router.add_get("/", self._get)
        app.router.add_route("OPTIONS", "/", self._options)
        if metrics_handler is not None:
            app.router.add_get("/metrics", metrics_handler)
        return app

    def refused(self, request: web.BaseRequest, refusal: Refusal) -> web.Response:
        self.refusals.warn(request.remote, refusal.kind, refusal.message)
        body = _error_body(refusal.code, refusal.message)
        return web.Response(status=refusal.status, body=body, content_type="application/json")

    @web.middleware
    async def _checks(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Host and Origin for every route; CORS headers only for an allowed origin."""
        assert self.listener is not None
        request[BEGAN] = self.listener.started(request)
        try:
            self.policy.check_host(request.headers.get("Host"))
            origin = self.policy.cors_origin(request.headers.get("Origin"))
            response = await handler(request)
        except Refusal as refusal:
            response = self.refused(request, refusal)
            if refusal.status == 408 and request.transport is not None:  # too slow to read on from
                await response.prepare(request)
                await response.write_eof()
                request.transport.close()  # after the reply is flushed; no lingering read
            return response
        finally:
            self.listener.finished(request)
        if origin is not None and not response.prepared:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    async def _options(self, request: web.Request) -> web.Response:
        if request.headers.get("Origin") is None:
            return web.Response(status=204, headers={"Allow": "POST, GET, OPTIONS"})
        return web.Response(status=204, headers=PREFLIGHT)

    async def _post(self, request: web.Request) -> web.Response:
        self.policy.check_content_type(request.headers.get("Content-Type"))
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise _too_large()
        grant = self.policy.grant(request.headers.get("Authorization"))
        assert self.listener is not None
        try:
            body = await self.listener.read_body(request, request[BEGAN])
        except web.HTTPRequestEntityTooLarge:
            raise _too_large() from None
        reply = await self.server.handle_body(body, None, grant)
        status = 200
        for item in reply if isinstance(reply, list) else [reply] if reply else []:
            error = item.get("error") or {}
            if error.get("code") == UNAUTHORIZED:
                self.refusals.warn(request.remote, "unauthenticated call", error["message"])
                status = 401 if isinstance(reply, dict) else status
        payload = b"" if reply is None else encode(reply)
        return web.Response(status=status, body=payload, content_type="application/json")

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response(STATUS)
        grant = self.policy.grant(request.headers.get("Authorization"))  # checked once, at the upgrade
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=30)
        await ws.prepare(request)
        conn = WsConnection(ws)
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    reply = await self.server.handle_body(message.data, conn, grant)
                    if reply is not None:
                        await conn.send(reply)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            conn.close()
        return ws
