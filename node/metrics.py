"""Prometheus metrics of one node, in its own registry (several nodes may share a process in tests)."""

from __future__ import annotations

import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

TPS_WINDOW = 30.0  # seconds of committed blocks behind the transactions-per-second gauge


class NodeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.height = Gauge("hubao_chain_height", "Number of the head block", registry=r)
        self.pool_size = Gauge("hubao_txpool_size", "Transactions waiting in the pool", registry=r)
        self.txs = Counter(
            "hubao_transactions_included", "Transactions included in committed blocks", registry=r
        )
        self.blocks = Counter("hubao_blocks_committed", "Blocks committed by this node", registry=r)
        self.tps = Gauge(
            "hubao_transactions_per_second", f"Included transactions/s over {TPS_WINDOW:.0f}s", registry=r
        )
        self.rpc_latency = Histogram(
            "hubao_rpc_latency_seconds",
            "JSON-RPC request handling time",
            ["method"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.rpc_errors = Counter("hubao_rpc_errors", "JSON-RPC error replies", ["code"], registry=r)
        self.call_worker_pid = Gauge(
            "hubao_call_worker_pid", "Process id of the call worker process (0: none running)", registry=r
        )
        self._recent: deque[tuple[float, int]] = deque()

    def block_committed(self, number: int, tx_count: int, pool_size: int) -> None:
        now = time.monotonic()
        self.height.set(number)
        self.pool_size.set(pool_size)
        self.blocks.inc()
        self.txs.inc(tx_count)
        self._recent.append((now, tx_count))
        while self._recent and now - self._recent[0][0] > TPS_WINDOW:
            self._recent.popleft()
        self.tps.set(sum(n for _, n in self._recent) / TPS_WINDOW)

    def render(self) -> bytes:
        return generate_latest(self.registry)
