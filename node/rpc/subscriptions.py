"""eth_subscribe / eth_unsubscribe over WebSocket: newHeads, logs, newPendingTransactions.

Part of the `eth` namespace, offered by the node core, which feeds it every commit and every
transaction its pool admits."""

from __future__ import annotations

import secrets
from typing import Any

from node.abc import RpcHandler, RpcNamespaceAPI
from node.errors import INVALID_PARAMS, RpcError
from node.rpc.filters import LogCriteria, block_logs
from node.rpc.format import hb, header_json, tx_json

KINDS = ("newHeads", "logs", "newPendingTransactions")


class Subscriptions(RpcNamespaceAPI):
    name = "eth"

    def __init__(self) -> None:
        self.connections: set = set()

    def methods(self) -> dict[str, RpcHandler]:
        return {}

    def connection_methods(self) -> dict[str, RpcHandler]:
        return {"eth_subscribe": self.subscribe, "eth_unsubscribe": self.unsubscribe}

    async def subscribe(self, conn, kind: Any = None, options: Any = None) -> str:
        if kind not in KINDS:
            raise RpcError(INVALID_PARAMS, f'no "{kind}" subscription in eth namespace')
        detail: Any = None
        if kind == "logs":
            detail = LogCriteria.parse(options or {})
        elif kind == "newPendingTransactions":
            detail = bool(options)  # true: full transaction objects
        sub_id = "0x" + secrets.token_hex(16)
        conn.subscriptions[sub_id] = (kind, detail)
        self.connections.add(conn)
        return sub_id

    async def unsubscribe(self, conn, sub_id: Any = None) -> bool:
        return conn.subscriptions.pop(sub_id, None) is not None

    def _live(self):
        for conn in list(self.connections):
            if conn.closed:
                self.connections.discard(conn)
                continue
            yield conn

    def on_block(self, block, receipts) -> None:
        head = None
        for conn in self._live():
            for sub_id, (kind, detail) in list(conn.subscriptions.items()):
                if kind == "newHeads":
                    head = head or header_json(block.header)
                    conn.notify(sub_id, head)
                elif kind == "logs":
                    for entry in block_logs(detail, block, receipts):
                        conn.notify(sub_id, entry)

    def on_pending(self, tx) -> None:
        for conn in self._live():
            for sub_id, (kind, full) in list(conn.subscriptions.items()):
                if kind == "newPendingTransactions":
                    conn.notify(sub_id, tx_json(tx) if full else hb(tx.hash))
