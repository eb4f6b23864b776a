"""Live updates: one WebSocket to the node (`eth_subscribe` newHeads, and logs of the suite's
contracts), relayed to every open page over the server's own `/live` WebSocket: every head, and the suite's
logs as one message per quarter second naming the events seen (never one message per log).

Each page gets a bounded queue: a page that does not keep up is dropped, never waited for, so one
slow browser cannot hold up the others or grow the server's memory. A lost node connection is
retried with back-off, and the pages are told the node is gone and when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import aiohttp
from aiohttp import web

log = logging.getLogger("hubao.web")

MAX_PAGES = 256  # open /live connections at once
QUEUE = 64  # messages waiting for one page before it is dropped
RETRY = (0.2, 0.5, 1, 2)  # seconds between reconnection attempts
COALESCE = 0.25  # seconds of logs sent to the pages as one message


def ws_url_of(rpc: str) -> str:
    """Our node and anvil serve WebSocket JSON-RPC on the HTTP port."""
    if rpc.startswith("https://"):
        return "wss://" + rpc[len("https://") :]
    if rpc.startswith("http://"):
        return "ws://" + rpc[len("http://") :]
    return rpc


class Relay:
    def __init__(self, ws_url: str, addresses: dict[str, str], topics: dict[str, tuple[str, str]]) -> None:
        self.ws_url = ws_url
        self.addresses = {a.lower(): name for name, a in addresses.items()}  # address -> contract name
        self.topics = topics  # topic0 (0x hex) -> (contract name, event name)
        self.pages: dict[web.WebSocketResponse, asyncio.Queue] = {}
        self.head: dict | None = None
        self.status = {"kind": "status", "ok": False, "message": "connecting to the node"}
        self._events: set[str] = set()
        self._events_block = 0
        self._flush: asyncio.TimerHandle | None = None

    # ---- the node side ----

    async def run(self, session: aiohttp.ClientSession) -> None:
        failures = 0
        while True:
            try:
                await self._follow(session)
                failures = 0
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
                reason = str(exc) or type(exc).__name__
                self._set_status(
                    False, f"live updates paused: no WebSocket answer at {self.ws_url} ({reason})"
                )
            await asyncio.sleep(RETRY[min(failures, len(RETRY) - 1)])
            failures += 1

    async def _follow(self, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            self.ws_url, heartbeat=15, timeout=aiohttp.ClientWSTimeout(ws_close=5)
        ) as ws:
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
            logs = {"address": list(self.addresses)} if self.addresses else None
            if logs:
                await ws.send_json(
                    {"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["logs", logs]}
                )
            subscriptions: dict[str, str] = {}
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data.get("id") in (1, 2):
                    if "error" in data:
                        raise ValueError(f"eth_subscribe refused: {data['error'].get('message')}")
                    subscriptions[data["result"]] = "heads" if data["id"] == 1 else "logs"
                    if len(subscriptions) == (2 if logs else 1):
                        self._set_status(True, "live")
                elif data.get("method") == "eth_subscription":
                    params = data["params"]
                    self._on(subscriptions.get(params["subscription"]), params["result"])
        self._set_status(False, f"live updates paused: the node at {self.ws_url} closed the connection")

    def _on(self, kind: str | None, result: dict) -> None:
        if kind == "heads":
            self.head = {
                "kind": "head",
                "number": int(result["number"], 16),
                "hash": result["hash"],
                "timestamp": int(result["timestamp"], 16),
            }
            self.broadcast(self.head)
        elif kind == "logs":
            topics = result.get("topics") or []
            contract, event = self.topics.get(topics[0].lower() if topics else "", ("", ""))
            contract = contract or self.addresses.get(result.get("address", "").lower(), "")
            self._events.add(f"{contract}.{event}" if event else contract)
            self._events_block = max(self._events_block, int(result["blockNumber"], 16))
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(COALESCE, self._send_events)

    def _send_events(self) -> None:
        """One message for all the logs of a moment: a collection debits thousands of members in a
        block, and each page needs to hear only that something changed."""
        self._flush = None
        events, self._events = sorted(self._events), set()
        self.broadcast({"kind": "event", "events": events, "block": self._events_block})

    def _set_status(self, ok: bool, message: str) -> None:
        if self.status["ok"] != ok or self.status["message"] != message:
            self.status = {"kind": "status", "ok": ok, "message": message}
            log.info("%s", message)
            self.broadcast(self.status)

    # ---- the page side ----

    def broadcast(self, message: dict) -> None:
        text = json.dumps(message)
        for page, queue in list(self.pages.items()):
            try:
                queue.put_nowait(text)
            except asyncio.QueueFull:
                self.pages.pop(page, None)
                asyncio.ensure_future(page.close(code=1013, message=b"too slow"))

    async def serve(self, request: web.Request) -> web.StreamResponse:
        if len(self.pages) >= MAX_PAGES:
            raise web.HTTPServiceUnavailable(text="too many live pages open")
        page = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
        await page.prepare(request)
        queue: asyncio.Queue = asyncio.Queue(QUEUE)
        self.pages[page] = queue
        queue.put_nowait(json.dumps(self.status))
        if self.head:
            queue.put_nowait(json.dumps(self.head))
        sender = asyncio.ensure_future(self._send(page, queue))
        try:
            async for _ in page:  # pages only listen; anything they send is ignored
                pass
        finally:
            self.pages.pop(page, None)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        return page

    async def close_pages(self, app: web.Application | None = None) -> None:
        """On shutdown: open pages would otherwise hold the server up until its timeout."""
        for page in list(self.pages):
            await page.close(code=1001, message=b"server shutdown")
        self.pages.clear()

    @staticmethod
    async def _send(page: web.WebSocketResponse, queue: asyncio.Queue) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not page.closed:
                await page.send_str(await queue.get())
