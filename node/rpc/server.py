"""JSON-RPC 2.0 dispatch (with batches, and eth_subscribe over WebSocket) and its listeners.

The node's assembler adds the namespaces its services offer (`add_namespace`); the server
remembers each namespace's methods by name. Each listener (`listen`) serves the namespaces its
`RpcAccess` names (by default this server's `apis`, all when None) under its Host, Origin,
content-type and JWT checks (`node/rpc/access.py`, `node/rpc/http.py`) and its connection and
read-time limits (`node/rpc/listener.py`); any other method is -32601, as geth answers for an API
it does not expose. Bad input gets the standard error codes and never takes the server down; a
bug in a handler is "internal error" to the client and its details go to the log, once.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from eth_utils import ValidationError

from node.abc import RpcHandler, RpcNamespaceAPI, RpcRegistryAPI
from node.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    SERVER_ERROR,
    RpcError,
    TxRejected,
)
from node.rpc.access import Grant, ListenerPolicy, OncePerClient, RpcAccess
from node.rpc.format import as_json

if TYPE_CHECKING:
    from node.rpc.listener import HttpLimits, Listener

log = logging.getLogger("node.rpc")

MAX_BATCH = 1000  # geth's BatchRequestLimit
WRITE_SLICE = 0.002  # seconds one WebSocket's writer sends before the loop's other work gets a turn
NOTIFICATION = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"%s","result":%s}}'


def encode(obj: Any) -> bytes:
    return as_json(obj).encode()


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
        """The namespaces served by default (None: every one registered)."""
        self.namespaces: dict[str, set[str]] = {}  # every namespace registered -> its method names
        self.namespace_of: dict[str, str] = {}  # every method registered -> its namespace
        self.registered: dict[str, _Method] = {}  # every plain method registered
        self.ws_methods: dict[str, Callable] = {}  # methods that need the connection (eth_subscribe)
        self.refusals = OncePerClient(log)

    def serves(self, namespace: str) -> bool:
        return self.apis is None or namespace in self.apis

    def add_namespace(self, namespace: RpcNamespaceAPI) -> None:
        plain, with_conn = namespace.methods(), namespace.connection_methods()
        for method in (*plain, *with_conn):
            if not method.startswith(namespace.name + "_"):
                raise ValueError(f"{method} is not in the {namespace.name} namespace")
            if method in self.namespace_of:
                raise ValueError(f"{method} is registered already")
        self.namespaces.setdefault(namespace.name, set()).update(plain, with_conn)
        self.namespace_of.update((method, namespace.name) for method in (*plain, *with_conn))
        self.registered.update((method, _Method(fn)) for method, fn in plain.items())
        self.ws_methods.update(with_conn)

    def handler(self, method: str) -> RpcHandler | None:
        """The handler of a method served by default (for in-process callers such as test harnesses)."""
        entry = self.registered.get(method)
        return None if entry is None or not self.serves(self.namespace_of[method]) else entry.fn

    def _default_grant(self) -> Grant:
        served = frozenset(n for n in self.namespaces if self.serves(n))
        return Grant(served, admitted=True)

    # -- dispatch ------------------------------------------------------------------------------
    async def handle_body(self, body: bytes | str, conn: Any = None, grant: Grant | None = None) -> Any:
        """A raw request body -> the reply object (dict, list) or None for notifications only;
        `grant`: what the caller may call (in process: everything served by default)."""
        grant = grant or self._default_grant()
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
                reply = await self.handle_one(item, conn, grant)
                if reply is not None:
                    replies.append(reply)
            return replies or None
        return await self.handle_one(msg, conn, grant)

    async def handle_one(self, msg: Any, conn: Any, grant: Grant) -> dict | None:
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
            result = await self._call(method, raw_params, conn, grant)
            reply = {"jsonrpc": "2.0", "id": req_id, "result": result}
        except RpcError as exc:
            reply = error_reply(req_id, exc.code, exc.message, exc.data)
        except TxRejected as exc:
            reply = error_reply(req_id, SERVER_ERROR, str(exc))
        except ValidationError as exc:
            reply = error_reply(req_id, SERVER_ERROR, str(exc))
        except Exception as exc:  # a bug in one handler must not take the node down, nor show
            if self.refusals.first("internal error", method, type(exc).__name__):
                log.exception("internal error in %s (logged once per method and exception type)", method)
            reply = error_reply(req_id, INTERNAL_ERROR, "internal error")
        if self.metrics is not None:
            label = method if method in self.namespace_of else "unknown"
            self.metrics.rpc_latency.labels(label).observe(time.perf_counter() - started)
            if "error" in reply:
                self.metrics.rpc_errors.labels(str(reply["error"]["code"])).inc()
        return None if is_notification else reply

    async def _call(self, method: str, args: list, conn: Any, grant: Grant) -> Any:
        refusal = grant.refusal(method, self.namespace_of.get(method))
        if refusal is not None:
            raise refusal
        if method in self.ws_methods:
            if conn is None:
                raise RpcError(-32601, "notifications not supported")
            return await self.ws_methods[method](conn, *args)
        entry = self.registered[method]
        if len(args) < entry.min_args:
            raise RpcError(INVALID_PARAMS, f"missing value for required argument {len(args)}")
        if entry.max_args is not None and len(args) > entry.max_args:
            raise RpcError(INVALID_PARAMS, f"too many arguments, want at most {entry.max_args}")
        result = entry.fn(*args)
        if entry.is_async or inspect.isawaitable(result):
            result = await result
        return result

    # -- listening -----------------------------------------------------------------------------
    async def listen(
        self,
        host: str,
        port: int,
        access: RpcAccess | None = None,
        limits: HttpLimits | None = None,
        metrics_handler: Callable | None = None,
    ) -> Listener:
        """Serve JSON-RPC (HTTP POST and WebSocket) on host:port under `access` (default: this
        server's `apis`, Host names localhost, no CORS origin, no JWT) and `limits`; raises
        AccessError for settings the address cannot have, OSError for a busy port."""
        from node.rpc.http import HttpFront
        from node.rpc.listener import HttpLimits, Listener

        access = access or RpcAccess(apis=self.apis)
        policy = ListenerPolicy(access, host, set(self.namespaces))
        front = HttpFront(self, policy, self.refusals)
        listener = Listener(front.make_app(metrics_handler), limits or HttpLimits(), self.refusals)
        front.listener = listener
        await listener.start(host, port)
        return listener


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
        """Send the outbox in order; a full one in slices of WRITE_SLICE seconds (a frame written
        without waiting does not yield, so a thousand notifications would hold the loop)."""
        started = time.perf_counter()
        while True:
            if self._outbox.empty():
                obj = await self._outbox.get()
                started = time.perf_counter()
            else:
                obj = self._outbox.get_nowait()
            try:
                await self.ws.send_str(obj if isinstance(obj, str) else as_json(obj))
            except (ConnectionError, RuntimeError):
                self.close()
                return
            if time.perf_counter() - started > WRITE_SLICE:
                await asyncio.sleep(0)
                started = time.perf_counter()

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

    def notify(self, sub_id: str, result_json: str) -> None:
        """A notification whose result is already JSON: made once per event for every subscription
        (a thousand subscriptions to new heads cost one encoding of the header, not a thousand)."""
        self.push(NOTIFICATION % (sub_id, result_json))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.subscriptions.clear()
            self._writer.cancel()
