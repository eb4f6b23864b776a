"""The call family as the JSON-RPC layer uses it: every method runs on the worker thread, over its
snapshot, and returns to the event loop with the answer (`call_now` runs on the caller's thread
over the chain's own store, for in-process callers such as tests)."""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI

from node.calls.accesslist import create_access_list
from node.calls.context import CallEnv, Context, Outcome
from node.calls.engine import CallEngine
from node.calls.message import CallArgs
from node.calls.overrides import BlockOverrides, StateOverrides
from node.calls.worker import CallLimits, CallWorker


class CallService:
    def __init__(self, chain: Any, vm_on: Any, limits: CallLimits | None = None) -> None:
        """`chain` gives the store, VM class, chain context, chain id, clock and head;
        `vm_on(reader, header, overlay)` makes a VM over a reader."""
        self.chain = chain
        context = Context(chain.vm_class, chain.chain_context, vm_on)
        self.worker = CallWorker(chain.store, limits)
        self.engine = CallEngine(context, chain.chain_id, self.worker.limits)

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

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await self.worker.run(fn, self.chain.head.hash, *args)

    async def call(self, env: CallEnv, args: CallArgs) -> Outcome:
        return await self._run(self.engine.call, env, args)

    async def estimate(self, env: CallEnv, args: CallArgs) -> int:
        return await self._run(self.engine.estimate, env, args)

    async def access_list(self, env: CallEnv, args: CallArgs) -> tuple:
        return await self._run(lambda reader, e, a: create_access_list(self.engine, reader, e, a), env, args)

    async def on_worker(self, fn: Any, *args: Any) -> Any:
        """`fn(engine, reader, *args)` on the worker thread (simulation, the pending block)."""
        return await self._run(lambda reader, *rest: fn(self.engine, reader, *rest), *args)

    def call_now(self, env: CallEnv, args: CallArgs) -> Outcome:
        return self.engine.call(self.chain.reader, env, args)

    def release(self, head_hash: bytes) -> None:
        self.worker.release(head_hash)

    def close(self) -> None:
        self.worker.close()
