"""Where message calls run, so the event loop that serves JSON-RPC, QBFT and p2p never waits for
the EVM (geth runs each call on a goroutine of its own), and the bounds every call gets.

`CallWorker` is the one interface: `run(fn, head_hash, *args)` is `fn(engine, reader, *args)`
over a snapshot of `head_hash`, one call at a time, at most `MAX_WAITING` waiting. Two kinds:

- `ProcessWorker` (node/calls/process.py), what a node process (`hubao node run`) uses: a child
  process of its own opens the store read-only, so calls run in parallel with the loop instead of
  taking its turns at the interpreter lock (py-evm is pure Python).
- `ThreadWorker` (here), for in-process chains (tests, tools) and the fallback
  (`HUBAO_CALL_WORKER=thread`): one thread, so a call costs the loop at worst half its speed
  (threads share one interpreter lock; a second busy thread would only take more of its turns).

`open_worker` chooses. Every call is bounded by geth's RPCGasCap and RPCEVMTimeout.
"""

from __future__ import annotations

import asyncio
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from node.calls.snapshot import Snapshot
from node.errors import LIMIT_EXCEEDED, RpcError

GAS_CAP = 50_000_000  # geth's --rpc.gascap default
EVM_TIMEOUT = 5.0  # geth's --rpc.evmtimeout default, seconds
MAX_WAITING = 256  # calls queued for the worker before more are refused
WORKER_KIND = "HUBAO_CALL_WORKER"  # "process" (the default where the store allows it) or "thread"
WORKER_START = "HUBAO_CALL_WORKER_START"  # "eager" (a node process's default) or "lazy": at the first call


@dataclass(frozen=True)
class CallLimits:
    """geth's RPCGasCap (0: none) and RPCEVMTimeout (0: none) for every call a client sends."""

    gas_cap: int = GAS_CAP
    evm_timeout: float = EVM_TIMEOUT

    @property
    def cap(self) -> int:
        """The gas a call gets when it names none, and the most it may name."""
        return self.gas_cap or (1 << 63) - 1


class CallWorker(ABC):
    """One call at a time, in order, off the loop; `_task` runs on the worker's one thread."""

    def __init__(self, limits: CallLimits | None = None) -> None:
        self.limits = limits or CallLimits()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="calls")
        self._waiting = 0
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, fn: Callable[..., Any], head_hash: bytes, *args: Any) -> Any:
        """The result of `fn(engine, reader, *args)` over a snapshot of `head_hash`, or its
        exception, re-raised here. `fn` is a module-level function (a process worker pickles it)."""
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

    @abstractmethod
    def start(self) -> None:
        """Make ready now, in the background, what the first call would otherwise wait for."""

    @property
    def pid(self) -> int | None:
        """The process calls run in when it is not this one (None: this one, or none yet)."""
        return None

    def release(self, head_hash: bytes) -> None:
        """After a commit: drop a snapshot of an older head, so LMDB can reuse the pages it pins."""
        if not self._closed:
            self._pool.submit(self._release, head_hash)

    def close(self) -> None:
        """Finish what is queued, then end the read transaction (before the store closes)."""
        if self._closed:
            return
        self._closed = True
        self._pool.submit(self._stop)
        self._pool.shutdown(wait=True)

    @abstractmethod
    def _task(self, fn: Callable[..., Any], head_hash: bytes, args: tuple) -> Any: ...

    @abstractmethod
    def _release(self, head_hash: bytes) -> None: ...

    @abstractmethod
    def _stop(self) -> None: ...


class Snapshots:
    """The snapshot a worker keeps, renewed when a call names another head (its engine's reader)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.snapshot: Snapshot | None = None

    def at(self, head_hash: bytes) -> Snapshot:
        snapshot = self.snapshot
        if snapshot is None or snapshot.head_hash != head_hash:
            if snapshot is not None:
                snapshot.close()
            snapshot = self.snapshot = Snapshot(self.store, head_hash)
        return snapshot

    def release(self, head_hash: bytes) -> None:
        if self.snapshot is not None and self.snapshot.head_hash != head_hash:
            self.snapshot.close()
            self.snapshot = None


class ThreadWorker(CallWorker):
    """Calls on one thread of this process, over the chain's store and `engine`."""

    def __init__(self, store: Any, engine: Any, limits: CallLimits | None = None) -> None:
        super().__init__(limits)
        self.engine = engine
        self._snapshots = Snapshots(store)  # touched only on the worker thread

    def start(self) -> None:
        """Nothing to start: the thread and the engine are this process's own."""

    def _task(self, fn: Callable[..., Any], head_hash: bytes, args: tuple) -> Any:
        return fn(self.engine, self._snapshots.at(head_hash), *args)

    def _release(self, head_hash: bytes) -> None:
        self._snapshots.release(head_hash)

    def _stop(self) -> None:
        self._snapshots.release(b"")


def open_worker(chain: Any, engine: Any, limits: CallLimits, process: bool) -> CallWorker:
    """With `process`, a process worker over the chain's LMDB files (unless HUBAO_CALL_WORKER=thread
    or the store has no files another process can open); else the thread worker over `engine`."""
    env = getattr(chain.store, "env", None)
    if process and env is not None and os.environ.get(WORKER_KIND, "process") != "thread":
        from node.calls.process import ProcessWorker, WorkerSpec

        spec = WorkerSpec(env.path(), env.info()["map_size"], chain.vm_class, chain.chain_id)
        return ProcessWorker(spec, chain.store, limits)
    return ThreadWorker(chain.store, engine, limits)
