"""The thread message calls run on, so the event loop that serves JSON-RPC, QBFT and p2p never
waits for the EVM (geth runs each call on a goroutine of its own).

One thread, not several: py-evm is pure Python, so threads share one interpreter lock, and a
second CPU-bound thread would take the loop's turns without adding throughput (measured: p99 of an
honest eth_blockNumber 34 ms with one worker busy, 160 ms with two). While a call runs the loop
still gets the lock at least every switch interval (5 ms), so it answers, seals and votes, at
worst at half speed for the length of the call; every call is bounded by geth's RPCGasCap and
RPCEVMTimeout, and at most `MAX_WAITING` wait for the thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from node.calls.snapshot import Snapshot
from node.errors import LIMIT_EXCEEDED, RpcError

log = logging.getLogger("node.calls")

GAS_CAP = 50_000_000  # geth's --rpc.gascap default
EVM_TIMEOUT = 5.0  # geth's --rpc.evmtimeout default, seconds
MAX_WAITING = 256  # calls queued for the thread before more are refused


@dataclass(frozen=True)
class CallLimits:
    """geth's RPCGasCap (0: none) and RPCEVMTimeout (0: none) for every call a client sends."""

    gas_cap: int = GAS_CAP
    evm_timeout: float = EVM_TIMEOUT

    @property
    def cap(self) -> int:
        """The gas a call gets when it names none, and the most it may name."""
        return self.gas_cap or (1 << 63) - 1


class CallWorker:
    """Runs `fn(snapshot, *args)` on the worker thread; the snapshot is the thread's own and is
    renewed when the caller's head differs from the one it was opened at."""

    def __init__(self, store: Any, limits: CallLimits | None = None) -> None:
        self.store = store
        self.limits = limits or CallLimits()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="calls")
        self._snapshot: Snapshot | None = None  # touched only on the worker thread
        self._waiting = 0
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, fn: Callable[..., Any], head_hash: bytes, *args: Any) -> Any:
        """The result of `fn(snapshot, *args)` on the thread, or its exception, re-raised here."""
        with self._lock:
            if self._waiting >= MAX_WAITING:
                raise RpcError(LIMIT_EXCEEDED, f"too many calls waiting (limit {MAX_WAITING}), retry later")
            self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._task, fn, head_hash, args)
        finally:
            with self._lock:
                self._waiting -= 1

    def _task(self, fn: Callable[..., Any], head_hash: bytes, args: tuple) -> Any:
        snapshot = self._snapshot
        if snapshot is None or snapshot.head_hash != head_hash:
            if snapshot is not None:
                snapshot.close()
            snapshot = self._snapshot = Snapshot(self.store, head_hash)
        return fn(snapshot, *args)

    def release(self, head_hash: bytes) -> None:
        """After a commit: drop a snapshot of an older head, so LMDB can reuse the pages it pins."""
        if not self._closed:
            self._pool.submit(self._release, head_hash)

    def _release(self, head_hash: bytes) -> None:
        if self._snapshot is not None and self._snapshot.head_hash != head_hash:
            self._snapshot.close()
            self._snapshot = None

    def close(self) -> None:
        """Finish what is queued, then end the read transaction (before the store closes)."""
        if self._closed:
            return
        self._closed = True
        self._pool.submit(self._release, b"")
        self._pool.shutdown(wait=True)
