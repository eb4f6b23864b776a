"""JSON-RPC 2.0 over HTTP (with batches) and WebSocket (with eth_subscribe) on one aiohttp port.

The node's assembler adds the namespaces its services offer (`add_namespace`); the server
remembers each namespace's methods by name and answers only those of the namespaces it serves
(`apis`, all by default): any other method is -32601, as geth answers for an API it does not
expose. Bad input gets the standard error codes and never takes the server down.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web
from eth_utils import ValidationError

from node.abc import RpcHandler, RpcNamespaceAPI, RpcRegistryAPI
from node.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    SERVER_ERROR,
    RpcError,
    TxRejected,
)

log = logging.getLogger("node.rpc")

MAX_BODY = 5 * 1024 * 1024  # geth's http body limit
MAX_BATCH = 1000  # geth's BatchRequestLimit
MAX_WS_MESSAGE = 15 * 1024 * 1024


def _encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def error_reply(req_id: Any, code: int, message: str, data: Any = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": req_id, "error": err}


class _Method:
    """A handler with its positional arity, checked before the call so wrong params are -32602."""

    def __init__(self, fn: RpcHandler) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        self.min_args, self.max_args = 0, 0
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            self.max_args = None
            return
        for p in sig.parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                self.max_args = None
                break
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                self.max_args += 1
                if p.default is p.empty:
                    self.min_args += 1


class RpcServer(RpcRegistryAPI):
    def __init__(self, metrics=None, apis: set[str] | None = None) -> None:
        self.metrics = metrics
        self.apis = None if apis is None else frozenset(apis)
        """The namespaces served (None: every one registered)."""
        self.namespaces: dict[str, set[str]] = {}  # every namespace registered -> its method names
        self.methods: dict[str, _Method] = {}  # the methods served
        self.ws_methods: dict[str, Callable] = {}  # served methods that need the connection (eth_subscribe)

    def serves(self, namespace: str) -> bool:
        return self.apis is None or namespace in self.apis

    def add_namespace(self, namespace: RpcNamespaceAPI) -> None:
        plain, with_conn = namespace.methods(), namespace.connection_methods()
        for method in (*plain, *with_conn):
            if not method.startswith(namespace.name + "_"):
                raise ValueError(f"{method} is not in the {namespace.name} namespace")
            if any(method in names for names in self.namespaces.values()):
                raise ValueError(f"{method} is registered already")
        self.namespaces.setdefault(namespace.name, set()).update(plain, with_conn)
        if self.serves(namespace.name):
            self.methods.update((method, _Method(fn)) for method, fn in plain.items())
            self.ws_methods.update(with_conn)

    def handler(self, method: str) -> RpcHandler | None:
        """The handler of a served method (for in-process callers such as test harnesses)."""
        entry = self.methods.get(method)
        return None if entry is None else entry.fn

    # -- dispatch ------------------------------------------------------------------------------
    async def handle_body(self, body: bytes | str, conn: Any = None) -> Any:
        """A raw request body -> the reply object (dict, list) or None for notifications only."""
        try:
            msg = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error_reply(None, PARSE_ERROR, "parse error")
        if isinstance(msg, list):
            if not msg:
                return error_reply(None, INVALID_REQUEST, "empty batch")
            if len(msg) > MAX_BATCH:
                return error_reply(None, INVALID_REQUEST, f"batch too large (max {MAX_BATCH} requests)")
            replies = []
            for item in msg:
                reply = await self.handle_one(item, conn)
                if reply is not None:
                    replies.append(reply)
            return replies or None
        return await self.handle_one(msg, conn)

    async def handle_one(self, msg: Any, conn: Any = None) -> dict | None:
        if not isinstance(msg, dict):
            return error_reply(None, INVALID_REQUEST, "invalid request")
        req_id = msg.get("id")
        is_notification = "id" not in msg
        if (
            msg.get("jsonrpc") != "2.0"
            or not isinstance(msg.get("method"), str)
            or isinstance(req_id, dict | list | bool)
        ):
            return error_reply(
                req_id if not isinstance(req_id, dict | list) else None, INVALID_REQUEST, "invalid request"
            )
        method = msg["method"]
        raw_params = msg.get("params", [])
        if raw_params is None:
            raw_params = []
        if not isinstance(raw_params, list):
            return error_reply(req_id, INVALID_PARAMS, "non-array args")
        started = time.perf_counter()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("call %s %s", method, json.dumps(raw_params)[:300])
        try:
            result = await self._call(method, raw_params, conn)
            reply = {"jsonrpc": "2.0", "id": req_id, "result": result}
        except RpcError as exc:
            reply = error_reply(req_id, exc.code, exc.message, exc.data)
        except TxRejected as exc:
            reply = error_reply(req_id, SERVER_ERROR, str(exc))
        except ValidationError as exc:
            reply = error_reply(req_id, SERVER_ERROR, str(exc))
        except Exception as exc:  # a bug in one handler must not take the node down
            log.exception("internal error in %s", method)
            reply = error_reply(req_id, INTERNAL_ERROR, f"internal error: {exc.__class__.__name__}: {exc}")
        if self.metrics is not None:
            label = method if method in self.methods or method in self.ws_methods else "unknown"
            self.metrics.rpc_latency.labels(label).observe(time.perf_counter() - started)
            if "error" in reply:
                self.metrics.rpc_errors.labels(str(reply["error"]["code"])).inc()
        return None if is_notification else reply

    async def _call(self, method: str, args: list, conn: Any) -> Any:
        if method in self.ws_methods:
            if conn is None:
                raise RpcError(-32601, "notifications not supported")
            return await self.ws_methods[method](conn, *args)
        entry = self.methods.get(method)
        if entry is None:
            raise RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        if len(args) < entry.min_args:
            raise RpcError(INVALID_PARAMS, f"missing value for required argument {len(args)}")
        if entry.max_args is not None and len(args) > entry.max_args:
            raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {entry.max_args}")
        result = entry.fn(*args)
        if entry.is_async or inspect.isawaitable(result):
            result = await result
        return result

    # -- aiohttp -------------------------------------------------------------------------------
    def make_app(self, metrics_handler: Callable | None = None) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/", self._http)
        app.router.add_get("/", self._get)
        app.router.add_route("OPTIONS", "/", self._options)
        if metrics_handler is not None:
            app.router.add_get("/metrics", metrics_handler)
        return app

    @staticmethod
    def _cors(resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        return resp

    async def _options(self, request: web.Request) -> web.Response:
        return self._cors(web.Response(status=204))

    async def _http(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            body = _encode(
                error_reply(None, INVALID_REQUEST, f"request body too large (max {MAX_BODY} bytes)")
            )
            return self._cors(web.Response(status=413, body=body, content_type="application/json"))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            body = _encode(
                error_reply(None, INVALID_REQUEST, f"request body too large (max {MAX_BODY} bytes)")
            )
            return self._cors(web.Response(status=413, body=body, content_type="application/json"))
        reply = await self.handle_body(body)
        payload = b"" if reply is None else _encode(reply)
        return self._cors(web.Response(body=payload, content_type="application/json"))

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response(
                {"status": "ok", "jsonrpc": "POST JSON-RPC 2.0 here, or open a WebSocket"}
            )
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=30)
        await ws.prepare(request)
        conn = WsConnection(ws)
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    reply = await self.handle_body(message.data, conn)
                    if reply is not None:
                        await conn.send(reply)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            conn.close()
        return ws


class WsConnection:
    """One WebSocket client: its subscriptions and an ordered outbox, so replies and
    notifications go out in the order they were produced and a slow client never blocks the chain."""

    OUTBOX_LIMIT = 10_000

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.subscriptions: dict[str, Any] = {}
        self.closed = False
        self._outbox: asyncio.Queue = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while True:
            obj = await self._outbox.get()
            try:
                await self.ws.send_str(_encode(obj).decode())
            except (ConnectionError, RuntimeError):
                self.close()
                return

    async def send(self, obj: Any) -> None:
        self.push(obj)

    def push(self, obj: Any) -> None:
        if self.closed:
            return
        if self._outbox.qsize() >= self.OUTBOX_LIMIT:
            log.warning("dropping a WebSocket client that does not read its notifications")
            self.close()
            asyncio.get_running_loop().create_task(self.ws.close())
            return
        self._outbox.put_nowait(obj)

    def notify(self, sub_id: str, result: Any) -> None:
        params = {"subscription": sub_id, "result": result}
        self.push({"jsonrpc": "2.0", "method": "eth_subscription", "params": params})

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.subscriptions.clear()
            self._writer.cancel()
