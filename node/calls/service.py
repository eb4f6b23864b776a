"""The call family as the JSON-RPC layer uses it: every method runs on the call worker (a process
of its own over the node's LMDB files, or a thread: node/calls/worker.py), over its snapshot, and
returns to the event loop with the answer (`call_now` runs on the caller's thread over the chain's
own store, for in-process callers such as tests).

What runs on the worker is a module-level function `fn(engine, reader, *args)` (a process worker
pickles it by name with its arguments); what it returns crosses back pickled, so an Outcome comes
back without its py-evm computation."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from eth.abc import BlockHeaderAPI

from node.calls.accesslist import create_access_list
from node.calls.context import CallEnv, Outcome
from node.calls.engine import CallEngine
from node.calls.message import CallArgs
from node.calls.overrides import BlockOverrides, StateOverrides
from node.calls.worker import WORKER_START, CallLimits, open_worker
from node.errors import NodeError


def call(engine: CallEngine, reader: Any, env: CallEnv, args: CallArgs) -> Outcome:
    return replace(engine.call(reader, env, args), computation=None)


def estimate(engine: CallEngine, reader: Any, env: CallEnv, args: CallArgs) -> int:
    return engine.estimate(reader, env, args)


class CallService:
    def __init__(self, chain: Any, limits: CallLimits | None = None) -> None:
        """`chain` gives the store, VM class, chain id, clock and head."""
        self.chain = chain
        self.engine = CallEngine.for_chain(chain.vm_class, chain.chain_id, limits)
        self.worker = open_worker(chain, self.engine, self.engine.limits, process=False)
        self._eager = False  # an in-process chain's thread worker has nothing to start

    def run_in_process(self) -> None:
        """From now on, calls run in a worker process of their own (what a node process does;
        `start_worker` starts it), unless HUBAO_CALL_WORKER=thread. Before the first call."""
        start = os.environ.get(WORKER_START, "eager")
        if start not in ("eager", "lazy"):
            raise NodeError(f"{WORKER_START}={start!r}: expected eager or lazy")
        self._eager = start == "eager"
        self.worker.close()
        self.worker = open_worker(self.chain, self.engine, self.engine.limits, process=True)

    def start_worker(self) -> None:
        """Start the worker process now, in the background (a node process does once it serves),
        so the first call does not pay for it; HUBAO_CALL_WORKER_START=lazy leaves it to the first
        call (the test suite's nodes, most of which never get one)."""
        if self._eager:
            self.worker.start()

    @property
    def worker_pid(self) -> int | None:
        """The call worker process's id; None while none runs (or calls run on a thread)."""
        return self.worker.pid

    @property
    def limits(self) -> CallLimits:
        return self.engine.limits

    def set_limits(self, limits: CallLimits) -> None:
        """geth's --rpc.gascap and --rpc.evmtimeout (`hubao node run --rpc-gas-cap/--rpc-evm-timeout`)."""
        self.worker.limits = self.engine.limits = limits

    def env(
        self,
        parent: BlockHeaderAPI,
        block: BlockOverrides | None = None,
        state: StateOverrides | None = None,
    ) -> CallEnv:
        """Calls on `parent`'s state, in its child stamped now by the node's clock."""
        return CallEnv(parent, self.chain.clock.child_timestamp(parent.timestamp), block, state)

    async def call(self, env: CallEnv, args: CallArgs) -> Outcome:
        return await self.on_worker(call, env, args)

    async def estimate(self, env: CallEnv, args: CallArgs) -> int:
        return await self.on_worker(estimate, env, args)

    async def access_list(self, env: CallEnv, args: CallArgs) -> tuple:
        return await self.on_worker(create_access_list, env, args)

    async def on_worker(self, fn: Any, *args: Any) -> Any:
        """`fn(engine, reader, *args)` on the worker (simulation, the pending block); `fn` is a
        module-level function, its arguments and result picklable."""
        return await self.worker.run(fn, self.chain.head.hash, *args)

    def call_now(self, env: CallEnv, args: CallArgs) -> Outcome:
        return self.engine.call(self.chain.reader, env, args)

    def release(self, head_hash: bytes) -> None:
        self.worker.release(head_hash)

    def close(self) -> None:
        self.worker.close()
