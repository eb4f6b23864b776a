"""The call worker as a process of its own (the node side; the child is node/calls/child.py).

py-evm is pure Python: a call on a thread of the node takes the interpreter lock from the loop that
also runs QBFT, p2p and every other JSON-RPC method, so a worker that is always busy halves the
loop's speed. A child process has its own interpreter: it opens the node's LMDB files read-only
(LMDB lets processes read one environment while one writes) and answers `(fn, head hash, limits,
args)` with `fn(engine, snapshot, *args)`; the node only pickles requests and waits on a pipe,
which does not hold the lock.

The child starts when the node process serves (`start`, on the worker's thread: the loop does not
wait for it), or with the first call when HUBAO_CALL_WORKER_START=lazy (a py-evm import costs 2 s
or more and ~50 MiB, and most nodes in tests never get a call), at the node's CPU priority unless
HUBAO_CALL_WORKER_NICE lowers it (it shares the node's scheduling group, so nice orders it only
against its own node's loop), with its data segment bounded (RLIMIT_DATA: the heap, not LMDB's
read-only map), and exits when the node closes it, closes its pipe or dies (kill -9 included). A
call it cannot finish (it died, was killed, ran out of memory, or passed its deadline by GRACE)
gets one clear error; the next call starts a new child.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from node.calls.worker import CallLimits, CallWorker
from node.errors import SERVER_ERROR, RpcError

log = logging.getLogger("node.calls")

NICE = 0  # added to the node's niceness (HUBAO_CALL_WORKER_NICE); +10 measured no better (benchmarks)
DATA_LIMIT = 1 << 30  # bytes of heap the child may hold (RLIMIT_DATA) before a call gets MemoryError
STARTUP = 120.0  # seconds a new child may take to import py-evm and open the store
GRACE = 30.0  # seconds past RPCEVMTimeout before an unanswered call's child is killed


@dataclass(frozen=True)
class WorkerSpec:
    """What the child needs to build the node's call engine (sent pickled as its first message)."""

    path: str  # the LMDB environment (DATADIR/chain.lmdb)
    map_size: int  # the node's map when the worker starts (it adopts a grown one by itself)
    vm_class: type
    chain_id: int
    parent_pid: int = field(default_factory=os.getpid)
    nice: int = field(default_factory=lambda: int(os.environ.get("HUBAO_CALL_WORKER_NICE", NICE)))
    data_limit: int = DATA_LIMIT


class WorkerLost(Exception):
    """The child did not answer (the text says why); it is gone."""


class Child:
    """One child process and its two pipes (requests to it, replies from it)."""

    def __init__(self, spec: WorkerSpec) -> None:
        request_in, request_out = os.pipe()
        reply_in, reply_out = os.pipe()
        command = [sys.executable, "-m", "node.calls.child", str(request_in), str(reply_out)]
        try:
            self.proc = subprocess.Popen(command, pass_fds=(request_in, reply_out), stdin=subprocess.DEVNULL)
        finally:
            os.close(request_in)
            os.close(reply_out)
        self.requests = Connection(request_out, readable=False)
        self.replies = Connection(reply_in, writable=False)
        try:
            self.ask(spec, STARTUP)
        except WorkerLost:
            self.kill()
            raise
        log.info("call worker process %d started (nice +%d)", self.proc.pid, spec.nice)

    def ask(self, message: Any, timeout: float | None) -> Any:
        """Send `message`, return the child's reply; WorkerLost (the child killed) if none comes."""
        try:
            self.requests.send_bytes(pickle.dumps(message))
            if timeout is not None and not self.replies.poll(timeout):
                self.kill()
                raise WorkerLost(f"the call worker did not answer within {timeout:g} s and was stopped")
            data = self.replies.recv_bytes()
        except (EOFError, OSError):
            raise WorkerLost(f"the call worker stopped ({self._status()}) before it answered") from None
        return pickle.loads(data)

    def tell(self, message: Any) -> bool:
        """Send `message`, no reply expected; False when the child is gone."""
        try:
            self.requests.send_bytes(pickle.dumps(message))
            return True
        except OSError:
            return False

    def _status(self) -> str:
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "not answering"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.requests.close()
        self.replies.close()

    def stop(self) -> None:
        """Close its pipe (it exits when it reads the end), kill it if it does not."""
        self.requests.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.replies.close()


class ProcessWorker(CallWorker):
    """Calls in a child process over the node's LMDB files (see the module's docstring)."""

    def __init__(self, spec: WorkerSpec, store: Any, limits: CallLimits | None = None) -> None:
        super().__init__(limits)
        self.spec = spec
        self.store = store  # the node's own: its reader table is cleared of a lost child's slot
        self._child: Child | None = None  # touched only on the worker thread

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before it started)."""
        child = self._child
        return None if child is None else child.proc.pid

    def start(self) -> None:
        """Start the child on the worker's thread; a call sent meanwhile waits for it there."""
        if not self._closed:
            self._pool.submit(self._start)

    def _start(self) -> None:
        try:
            self._running()
        except WorkerLost as lost:
            log.warning("%s; a new one starts with the first call", lost)

    def _running(self) -> Child:
        """The child, started anew if there is none or it has exited."""
        if self._child is None or self._child.proc.poll() is not None:
            self._drop()
            self._child = Child(self.spec)
        return self._child

    def _task(self, fn: Callable[..., Any], head_hash: bytes, args: tuple) -> Any:
        timeout = self.limits.evm_timeout + GRACE if self.limits.evm_timeout else None
        try:
            kind, value, fatal = self._running().ask(("run", fn, head_hash, self.limits, args), timeout)
        except WorkerLost as lost:
            self._drop()
            log.warning("%s; a new one starts with the next call", lost)
            raise RpcError(SERVER_ERROR, f"call not finished: {lost}; retry") from None
        if fatal:  # out of memory: the child exits after answering, the next call gets a new one
            self._drop()
        if kind == "error":
            raise value
        return value

    def _drop(self) -> None:
        """Forget the child (reaped); its LMDB reader slot is freed for the writer."""
        child, self._child = self._child, None
        if child is not None:
            if child.proc.poll() is None:
                child.stop()
            else:
                child.kill()
            self.store.env.reader_check()

    def _release(self, head_hash: bytes) -> None:
        if self._child is not None and not self._child.tell(("release", head_hash)):
            self._drop()

    def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.stop()
