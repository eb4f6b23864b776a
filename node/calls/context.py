"""The state a call runs on and one execution on it.

A call reads the state after a block (`CallEnv.parent`) in the context of that block's child,
stamped by the node's clock, as the next block would get it; block overrides change that context.
A call that pays no gas price sees base fee 0 (geth lowers it so a free call is valid); one that
pays sees the child's base fee (or the overridden one) and pays like a transaction.

Every call runs with a deadline (geth's RPCEVMTimeout): the jumps, calls and creates of a
computation class of the call's own check the clock, so a loop cannot outlive it, at no cost to
other opcodes and none at all to block execution (which never sees this class).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from eth.abc import BlockHeaderAPI
from eth.vm.chain_context import ChainContext

from node.calls.overrides import BlockOverrides, StateOverrides, apply_state
from node.calls.snapshot import ChainDBView
from node.errors import SERVER_ERROR, RpcError
from node.storage import StateOverlay

WATCHED = (0x56, 0x57, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA)  # JUMP JUMPI CREATE CALL* CREATE2 STATICCALL


class CallTimeout(Exception):
    """Raised inside the EVM when a call passes its deadline; not a VMError, so it unwinds it all."""


@dataclass(frozen=True)
class CallEnv:
    """Where a call runs: on the state after `parent`, in its child stamped `timestamp`."""

    parent: BlockHeaderAPI
    timestamp: int
    block: BlockOverrides | None = None
    state: StateOverrides | None = None

    @property
    def plain(self) -> bool:
        return not self.state and (self.block is None or not self.block.given())


@dataclass
class Outcome:
    """What one execution did: output, error (a py-evm VMError or None), gas after refunds (the
    receipt's) and before (geth's MaxUsedGas), logs as (address, topics, data)."""

    output: bytes
    error: Any
    gas_used: int
    max_used: int
    logs: tuple
    computation: Any


class _Watched:
    """An opcode that first checks the call's deadline."""

    __slots__ = ("fn", "deadline", "mnemonic")

    def __init__(self, fn: Any, deadline: float) -> None:
        self.fn, self.deadline = fn, deadline
        self.mnemonic = getattr(fn, "mnemonic", "")

    def __call__(self, computation: Any) -> Any:
        if time.monotonic() > self.deadline:
            raise CallTimeout
        return self.fn(computation=computation)


def computation_class(base: type, deadline: float | None, precompiles: dict | None) -> type:
    """`base` with the deadline checks and the call's own precompiles (moved, or replaced by code)."""
    attrs: dict[str, Any] = {}
    if deadline is not None:
        opcodes = dict(base.opcodes)
        for op in WATCHED:
            if op in opcodes:
                opcodes[op] = _Watched(opcodes[op], deadline)
        attrs["opcodes"] = opcodes
    if precompiles is not None:
        attrs["_precompiles"] = precompiles
    return type(base.__name__ + "ForCall", (base,), attrs) if attrs else base


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() for the timeouts geth prints ("5s", "500ms", "1m30s")."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    minutes, rest = divmod(seconds, 60)
    text = f"{rest:.9f}".rstrip("0").rstrip(".") + "s"
    return f"{int(minutes)}m{text}" if minutes else text


def timeout_error(seconds: float) -> RpcError:
    return RpcError(SERVER_ERROR, f"execution aborted (timeout = {go_duration(seconds)})")


class Context:
    """Builds call states over a reader (a snapshot, or the chain's own store on the loop)."""

    def __init__(self, vm_class: type, chain_context: ChainContext) -> None:
        self.vm_class = vm_class
        self.chain_context = chain_context

    def vm_on(self, reader: Any, header: BlockHeaderAPI, overlay: StateOverlay) -> Any:
        """The chain's VM on `header`, reading headers and state through `reader`."""
        return self.vm_class(header, ChainDBView(reader, overlay), self.chain_context, None)

    def child(self, env: CallEnv) -> BlockHeaderAPI:
        """The child header the call runs in, with the block overrides (base fee as the next block's)."""
        parent = env.parent
        child = self.vm_class.create_header_from_parent(
            parent, coinbase=parent.coinbase, timestamp=env.timestamp, gas_limit=parent.gas_limit
        )
        return child.copy(**env.block.header_fields()) if env.block is not None else child

    def state(
        self, reader: Any, env: CallEnv, header: BlockHeaderAPI, precompiles: dict | None = None
    ) -> Any:
        """A state on `header` (a child made by `child`) over `reader`, with the state overrides;
        its writes stay in memory."""
        vm = self.vm_on(reader, env.parent, StateOverlay(reader))
        hashes = itertools.chain((env.parent.hash,), vm.previous_hashes)
        state = vm.build_state(vm.chaindb.db, header, self.chain_context, hashes)
        if env.state:
            base = type(state).computation_class.get_precompiles()
            moved = apply_state(state, env.state, base)
            state.computation_class = computation_class(type(state).computation_class, None, moved)
        return state


def execute(state: Any, tx: Any, deadline: float | None, vm_class: type) -> Outcome:
    """Apply `tx` to `state` (the caller snapshots and reverts) under the deadline."""
    base = state.computation_class
    if deadline is not None:
        state.computation_class = computation_class(base, deadline, None)
    try:
        computation = state.apply_transaction(tx)
    finally:
        if deadline is not None:
            state.computation_class = base
    error = computation.error if computation.is_error else None
    return Outcome(
        computation.output,
        error,
        vm_class.finalize_gas_used(tx, computation),
        tx.gas - computation.get_gas_remaining(),
        computation.get_log_entries(),
        computation,
    )
