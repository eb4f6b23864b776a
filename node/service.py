"""Node assembly: storage, chain, pool, RPC, metrics, and a pluggable block producer.

Dev mode plugs in `DevSealer`; a consortium node plugs in its QBFT engine (any `BlockProducerAPI`),
its consensus header rules and its permissioning filter:

    node = Node(datadir, genesis, producer=engine, rules=qbft_rules, clock=scaled_clock)
    node.set_account_filter(allowlist)
    await node.start()
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from node.abc import AccountFilterAPI, BlockProducerAPI, ClockAPI, ConsensusRulesAPI, NodeAPI
from node.chain import Chain
from node.clock import DevClock, SystemClock
from node.genesis import Genesis
from node.metrics import NodeMetrics
from node.rpc.dev import DevNamespace
from node.rpc.eth import EthNamespace
from node.rpc.filters import FilterManager
from node.rpc.server import RpcServer
from node.rpc.subscriptions import Subscriptions
from node.storage import Store
from node.trace.rpc import DebugNamespace
from node.txpool import TxPool

log = logging.getLogger("node")


class Node(NodeAPI):
    def __init__(
        self,
        datadir: str | Path,
        genesis: Genesis,
        producer: BlockProducerAPI,
        clock: ClockAPI | None = None,
        rules: ConsensusRulesAPI | None = None,
        host: str = "127.0.0.1",
        port: int = 8545,
        dev_keys: dict[str, bytes] | None = None,
        revert_reason: bool = True,
    ) -> None:
        self.datadir = str(datadir)
        self.revert_reason = revert_reason  # receipts of failed transactions carry revertReason (Besu)
        self.host, self.port = host, port
        self.dev = dev_keys is not None
        self.dev_keys = dev_keys or {}
        self.clock = clock or (DevClock() if self.dev else SystemClock())
        self.store = Store(datadir)
        self.chain = Chain(self.store, genesis, rules)
        self.txpool = TxPool(self.chain)
        self.producer = producer
        self.metrics = NodeMetrics()
        self.rpc = RpcServer(self.metrics)
        self.filters = FilterManager(self.chain)
        self.subscriptions = Subscriptions(self.chain)
        for name, fn in EthNamespace(self).methods().items():
            self.rpc.register(name, fn)
        if self.dev:
            for name, fn in DevNamespace(self).methods().items():
                self.rpc.register(name, fn)
            self.rpc.add_namespace(DebugNamespace(self.chain))
        for namespace in producer.rpc_namespaces():
            self.rpc.add_namespace(namespace)
        self.rpc.register_ws("eth_subscribe", self.subscriptions.subscribe)
        self.rpc.register_ws("eth_unsubscribe", self.subscriptions.unsubscribe)
        self.chain.subscribe_new_heads(self._on_commit)
        self.txpool.on_new_tx.append(self.filters.on_pending)
        self.txpool.on_new_tx.append(self.subscriptions.on_pending)
        self.txpool.on_new_tx.append(lambda tx: self.metrics.pool_size.set(len(self.txpool)))
        self.metrics.height.set(self.chain.head.block_number)
        self._runner: web.AppRunner | None = None

    def set_account_filter(self, account_filter: AccountFilterAPI | None) -> None:
        """Permissioning: one filter consulted by the pool (hence RPC), the builder and the importer."""
        self.txpool.account_filter = account_filter
        self.chain.account_filter = account_filter

    def _on_commit(self, block, receipts) -> None:
        self.txpool.remove_included(block)
        self.filters.on_block(block)
        self.subscriptions.on_block(block, receipts)
        self.metrics.block_committed(block.header.block_number, len(block.transactions), len(self.txpool))

    async def _metrics(self, request: web.Request) -> web.Response:
        self.metrics.pool_size.set(len(self.txpool))
        return web.Response(body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type})

    async def start(self) -> None:
        app = self.rpc.make_app(metrics_handler=self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        await self.producer.start(self)
        log.info(
            "node serving JSON-RPC on http://%s:%d (head #%d)",
            self.host,
            self.port,
            self.chain.head.block_number,
        )

    async def stop(self) -> None:
        await self.producer.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        self.store.close()
