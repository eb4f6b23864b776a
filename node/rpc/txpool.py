"""The txpool namespace (geth's txpool_status): how many transactions wait, and how many of them
could go into the next block."""

from __future__ import annotations

from node.abc import RpcHandler, RpcNamespaceAPI, TxPoolAPI
from node.rpc.format import hx


class TxpoolNamespace(RpcNamespaceAPI):
    name = "txpool"

    def __init__(self, txpool: TxPoolAPI) -> None:
        self.txpool = txpool

    def methods(self) -> dict[str, RpcHandler]:
        return {"txpool_status": self.status}

    def status(self) -> dict[str, str]:
        pending = len(self.txpool.pending())
        return {"pending": hx(pending), "queued": hx(len(self.txpool) - pending)}
