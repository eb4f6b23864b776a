"""The call worker process: `python -m node.calls.child REQUESTS_FD REPLIES_FD`, started by
node/calls/process.py. Its first message is a WorkerSpec; then, in order:

    ("run", fn, head_hash, limits, args)  ->  ("result", value, False) | ("error", exc, fatal)
    ("release", head_hash)                ->  (no reply: drop a snapshot of an older head)

It opens the store read-only (never the datadir's LOCK: the node holds that), builds the call
engine from the spec and keeps one snapshot, renewed when a call names another head, exactly as
the thread worker does. It ends when the requests pipe closes or its parent dies.
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import sys
import threading
import time
from multiprocessing.connection import Connection

import lmdb

from node.calls.engine import CallEngine
from node.calls.process import WorkerSpec
from node.calls.worker import Snapshots
from node.errors import SERVER_ERROR, RpcError
from node.storage import SUBDBS

log = logging.getLogger("node.calls.child")


class ReadOnlyStore:
    """The node's LMDB environment opened for reading: what a Snapshot needs (env, dbs)."""

    def __init__(self, path: str, map_size: int) -> None:
        self.env = lmdb.open(path, readonly=True, max_dbs=len(SUBDBS), map_size=map_size)
        self.dbs = {name: self.env.open_db(name.encode(), create=False) for name in SUBDBS}


def bound(spec: WorkerSpec) -> None:
    """Lower the CPU priority and cap the heap (the address space would count LMDB's map)."""
    if spec.nice:
        os.nice(spec.nice)
    if spec.data_limit:
        resource.setrlimit(resource.RLIMIT_DATA, (spec.data_limit, spec.data_limit))


def watch_parent(parent_pid: int) -> None:
    """Exit as soon as the node is gone, even in the middle of a call (no orphans after kill -9)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def answer(engine: CallEngine, snapshots: Snapshots, message: tuple) -> tuple:
    _, fn, head_hash, limits, args = message
    engine.limits = limits
    try:
        return ("result", fn(engine, snapshots.at(head_hash), *args), False)
    except MemoryError:
        limit = f"{engine_limit_mib()} MiB"
        return (
            "error",
            RpcError(SERVER_ERROR, f"call ran out of memory (the call worker holds at most {limit})"),
            True,
        )
    except RpcError as exc:
        return ("error", exc, False)
    except Exception as exc:  # a bug: the node answers "internal error", the details go to its log
        log.exception("call %s failed", getattr(fn, "__qualname__", fn))
        return ("error", exc, False)


def engine_limit_mib() -> int:
    return resource.getrlimit(resource.RLIMIT_DATA)[0] >> 20


def encode(reply: tuple) -> bytes:
    """The reply pickled; what cannot cross (an exception that does not unpickle) as a plain error."""
    try:
        data = pickle.dumps(reply)
        if reply[0] == "error":
            pickle.loads(data)
        return data
    except Exception:
        log.exception("a call's %s does not pickle", reply[0])
        return pickle.dumps(("error", RuntimeError(f"unpicklable call {reply[0]}"), reply[2]))


def serve(requests: Connection, replies: Connection) -> None:
    spec: WorkerSpec = pickle.loads(requests.recv_bytes())
    bound(spec)
    watch_parent(spec.parent_pid)
    engine = CallEngine.for_chain(spec.vm_class, spec.chain_id)
    snapshots = Snapshots(ReadOnlyStore(spec.path, spec.map_size))
    replies.send_bytes(pickle.dumps(("ready", os.getpid())))
    while True:
        try:
            data = requests.recv_bytes()
        except EOFError:
            return
        try:
            message = pickle.loads(data)
        except Exception as exc:  # a request naming what this process cannot import: that call fails
            log.exception("cannot read a call")
            replies.send_bytes(encode(("error", RuntimeError(f"cannot read the call: {exc}"), False)))
            continue
        if message[0] == "release":
            snapshots.release(message[1])
            continue
        reply = answer(engine, snapshots, message)
        replies.send_bytes(encode(reply))
        if reply[2]:
            return


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    requests = Connection(int(argv[1]), writable=False)
    replies = Connection(int(argv[2]), readable=False)
    try:
        serve(requests, replies)
    except MemoryError:
        os._exit(3)
    except (EOFError, BrokenPipeError):
        pass


if __name__ == "__main__":
    main(sys.argv)
