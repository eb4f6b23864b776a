"""The node core: the one assembly of storage, chain, pool, filters, subscriptions, metrics and
JSON-RPC that every node kind shares (the dev node, the consortium node, the in-process QBFT
test harness), so pruning the pool after a commit, filters and subscriptions happen alike in all.

The application assembles a node kind around it (consortium/nodes/):

    core = NodeCore(datadir, genesis, clock, rules=qbft_rules, peers=network)
    core.set_account_filter(allowlist_filter)
    core.set_producer(engine)            # the BlockProducerAPI; its namespaces are registered
    core.add_service(evidence)           # any ServiceAPI: its namespaces are registered
    await core.listen(host, port)        # JSON-RPC over HTTP and WebSocket, /metrics
    await core.start()                   # the producer starts

The core offers the eth, net, web3 and txpool namespaces itself; `apis` names the namespaces its
JSON-RPC server serves (None: all). `limits` (node/limits.py) bound the pool, filters,
subscriptions and storage; a housekeeping timer expires idle filters and stale queued
transactions; a full disk halts the node (`halted`, `run_until`) with one clear message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from node.abc import (
    AccountFilterAPI,
    BlockProducerAPI,
    ClockAPI,
    ConsensusRulesAPI,
    NodeAPI,
    RpcBackendAPI,
    RpcNamespaceAPI,
    ServiceAPI,
)
from node.chain import Chain
from node.genesis import Genesis
from node.limits import NodeLimits
from node.metrics import NodeMetrics
from node.p2p.abc import PeerNetworkAPI
from node.rpc.access import RpcAccess
from node.rpc.config import ConfigNamespace
from node.rpc.eth import EthNamespace
from node.rpc.filters import FilterManager
from node.rpc.listener import HttpLimits, Listener
from node.rpc.net import NetNamespace, Web3Namespace
from node.rpc.server import RpcServer
from node.rpc.subscriptions import Subscriptions
from node.rpc.txpool import TxpoolNamespace
from node.storage import Store
from node.trace.rpc import DebugNamespace
from node.txpool import TxPool

log = logging.getLogger("node")

HOUSEKEEPING_INTERVAL = 1.0  # seconds between expiry sweeps of filters and queued transactions


class NodeCore(NodeAPI, RpcBackendAPI, ServiceAPI):
    def __init__(
        self,
        datadir: str | Path,
        genesis: Genesis,
        clock: ClockAPI,
        rules: ConsensusRulesAPI | None = None,
        peers: PeerNetworkAPI | None = None,
        unlocked: Mapping[str, bytes] | None = None,
        apis: set[str] | None = None,
        revert_reason: bool = True,
        limits: NodeLimits | None = None,
    ) -> None:
        self.datadir = str(datadir)
        self.revert_reason = revert_reason
        self.clock = clock
        self.peers = peers
        self.unlocked = dict(unlocked or {})
        self.limits = limits = limits or NodeLimits()
        self.halted = asyncio.Event()
        self.halt_reason: str | None = None
        self.store = Store(
            datadir, limits.storage_map_mib << 20, limits.storage_min_free_mib << 20, on_full=self.halt
        )
        self.chain = Chain(self.store, genesis, rules, clock=clock)
        self.txpool = TxPool(self.chain, limits)
        self.metrics = NodeMetrics()
        self.rpc = RpcServer(self.metrics, apis)
        self.filters = FilterManager(self.chain, limits)
        self.subscriptions = Subscriptions(limits)
        self._housekeeping: asyncio.Task | None = None
        self.producer: BlockProducerAPI | None = None
        self.port: int | None = None
        self.chain.subscribe_new_heads(self._on_commit)
        self.txpool.on_new_tx.append(self.filters.on_pending)
        self.txpool.on_new_tx.append(self.subscriptions.on_pending)
        self.txpool.on_new_tx.append(lambda tx: self.metrics.pool_size.set(len(self.txpool)))
        self.metrics.height.set(self.chain.head.block_number)
        self.metrics.call_worker_pid.set_function(lambda: self.chain.calls.worker_pid or 0)
        self._listener: Listener | None = None
        self.add_service(self)

    # -- assembly ------------------------------------------------------------------------------
    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (
            EthNamespace(self),
            self.subscriptions,
            NetNamespace(self),
            Web3Namespace(),
            TxpoolNamespace(self.txpool),
            DebugNamespace(self.chain),
            ConfigNamespace(self.chain),
        )

    def add_service(self, service: ServiceAPI) -> None:
        """Register every JSON-RPC namespace the service offers."""
        for namespace in service.rpc_namespaces():
            self.rpc.add_namespace(namespace)

    def set_producer(self, producer: BlockProducerAPI) -> None:
        """The block producer `start` starts; its namespaces are registered like any service's."""
        if self.producer is not None:
            raise RuntimeError("the node has a block producer already")
        self.producer = producer
        self.add_service(producer)

    def set_account_filter(self, account_filter: AccountFilterAPI | None) -> None:
        """Permissioning: one filter consulted by the pool (hence RPC), the builder and the importer."""
        self.txpool.account_filter = account_filter
        self.chain.account_filter = account_filter

    # -- RpcBackendAPI -------------------------------------------------------------------------
    def peer_count(self) -> int:
        return 0 if self.peers is None else len(self.peers.peers())

    def sync_status(self) -> dict[str, str] | bool:
        sync = getattr(self.producer, "sync", None)  # the QBFT engine's BlockSync, once started
        progress = sync.status() if sync is not None else None
        if progress is None:
            return False
        start, current, highest = progress
        return {"startingBlock": hex(start), "currentBlock": hex(current), "highestBlock": hex(highest)}

    # -- after every commit ----------------------------------------------------------------------
    def _on_commit(self, block, receipts) -> None:
        self.txpool.remove_included(block)
        self.subscriptions.on_block(block, receipts)  # queued: matched after the commit
        self.metrics.block_committed(block.header.block_number, len(block.transactions), len(self.txpool))

    # -- bounds: housekeeping and halting ---------------------------------------------------------
    def _start_background(self) -> None:
        """The subscription notifier and the housekeeping timer (once, on the running loop)."""
        self.subscriptions.start()
        if self._housekeeping is None:
            self._housekeeping = asyncio.get_running_loop().create_task(self._housekeep())

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            try:
                self.filters.expire()
                self.txpool.expire()
            except Exception:
                log.exception("housekeeping failed")

    def halt(self, reason: str) -> None:
        """Stop the node cleanly for a reason it cannot work around (the disk is full)."""
        if self.halt_reason is None:
            self.halt_reason = reason
        self.halted.set()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set or the node halts (then `halt_reason` says why)."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.halted.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # -- lifecycle -------------------------------------------------------------------------------
    async def _metrics(self, request: web.Request) -> web.Response:
        self.metrics.pool_size.set(len(self.txpool))
        return web.Response(body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type})

    async def listen(
        self, host: str, port: int, access: RpcAccess | None = None, limits: HttpLimits | None = None
    ) -> int:
        """Serve JSON-RPC (HTTP POST and WebSocket) and /metrics on host:port (0: any free port),
        under `access` (node/rpc/access.py; default: the core's `apis`) and `limits`."""
        self._listener = await self.rpc.listen(host, port, access, limits, metrics_handler=self._metrics)
        self.port = self._listener.port
        self._start_background()
        log.info(
            "node serving JSON-RPC on http://%s:%d (head #%d)", host, self.port, self.chain.head.block_number
        )
        return self.port

    async def start(self) -> None:
        """Start the block producer."""
        if self.producer is None:
            raise RuntimeError("the node has no block producer")
        self._start_background()
        await self.producer.start(self)

    async def stop(self) -> None:
        """Stop the producer and the listener, then close the storage."""
        if self.producer is not None:
            await self.producer.stop()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self.subscriptions.stop()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        self.chain.close()
        self.store.close()
