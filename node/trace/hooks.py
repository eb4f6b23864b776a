"""The one tracing hook: a computation class used only for the traced transaction of a replay.

py-evm looks up `state.computation_class` for every message, and a computation runs its code by
calling `opcodes[op](computation=...)`. A traced class is a subclass of the VM's own computation
class whose opcode table wraps each opcode, and which reports child frames, logs and gas given
back. A replay sets it on its state instance for one transaction; normal block execution never
sees it, so it costs nothing when nobody traces.

`Tracing` turns what it sees into geth's view: pc before the opcode, gas before it, geth's gas
cost (a CALL's cost includes the gas it forwards, a CREATE's does not), depth from 1, the refund
counter, and the frames geth enters that py-evm never runs (SELFDESTRUCT, a refused CALL).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from eth.constants import STACK_DEPTH_LIMIT
from eth.exceptions import FullStack, Halt, InsufficientStack, OutOfGas, VMError
from eth.vm.logic.invalid import InvalidOpcode

from node.trace.abc import Frame, FrameEnd, Step, TraceAborted, TracerAPI, frame_end
from node.trace.opcodes import (
    CALL,
    CALLCODE,
    CALLS,
    CREATES,
    DELEGATECALL,
    NAMES,
    SELFDESTRUCT,
    STACK_IN,
    STATICCALL,
)

KINDS = {CALL: "CALL", CALLCODE: "CALLCODE", DELEGATECALL: "DELEGATECALL", STATICCALL: "STATICCALL"}
KINDS |= {0xF0: "CREATE", 0xF5: "CREATE2", SELFDESTRUCT: "SELFDESTRUCT"}
_NEEDED = re.compile(r"Needed (\d+)")
CHECK_EVERY = 1024  # steps between deadline checks


def _int(word: int | bytes) -> int:
    return word if isinstance(word, int) else int.from_bytes(word, "big")


def _address(word: int | bytes) -> bytes:
    return (_int(word) & ((1 << 160) - 1)).to_bytes(20, "big")


@dataclass
class Tracing:
    """Binds one tracer to the computations of one transaction and keeps geth's bookkeeping."""

    tracer: TracerAPI
    deadline: float
    active: list = field(default_factory=list)  # the computation running at each depth
    steps: int = 0
    last_op: int = 0  # the opcode that ran last: names an invalid opcode in the frame it ended

    def computation_class(self, base: type) -> type:
        return traced_computation(base, self)

    def end(self, computation: Any) -> FrameEnd:
        return frame_end(computation, NAMES[self.last_op])

    # -- opcodes -----------------------------------------------------------------------------
    def before(self, comp: Any, op: int) -> None:
        self.steps += 1
        if self.steps % CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise TraceAborted("execution timeout")
        if not len(comp.code):  # geth runs no interpreter for an account without code
            comp._trace_step = None
            return
        depth = comp.msg.depth
        del self.active[depth:]
        self.active.append(comp)
        stack = comp._stack.values
        step = Step(comp._trace_pc, op, comp._gas_meter.gas_remaining, depth + 1, self.refund())
        if len(stack) < STACK_IN[op]:
            step.error = f"stack underflow ({len(stack)} <=> {STACK_IN[op]})"
        elif op in CALLS:
            step.target = _address(stack[-2])
            first = -3 if op in (DELEGATECALL, STATICCALL) else -4
            step.args = (_int(stack[first]), _int(stack[first - 1]))
            if op in (CALL, CALLCODE):
                step.value = _int(stack[-3])
            elif op == DELEGATECALL:
                step.value = comp.msg.value
        elif op == SELFDESTRUCT:
            step.target = _address(stack[-1])
            step.value = comp.state.get_balance(comp.msg.storage_address)
        comp._trace_step = step
        self.tracer.step(step, comp)

    def after(self, comp: Any, error: BaseException | None) -> None:
        step = comp._trace_step
        if step is None:
            return
        comp._trace_pc = comp.code.program_counter
        self.last_op = step.op
        if not step.costed:
            step.cost = step.gas - comp._gas_meter.gas_remaining
            if isinstance(error, OutOfGas):  # py-evm refuses the charge; geth reports it
                needed = _NEEDED.search(str(error))
                step.cost += int(needed.group(1)) if needed else 0
        if isinstance(error, OutOfGas):
            step.error = "out of gas"
        elif isinstance(error, FullStack):
            step.error = f"stack limit reached {len(comp._stack.values)} (1023)"
        elif not isinstance(error, InsufficientStack):
            step.error = None
        if step.op == SELFDESTRUCT and isinstance(error, Halt):  # geth reports it as a frame
            self._frame(comp, Frame("SELFDESTRUCT", b"", step.target, b"", 0, step.value, step.depth), None)
        elif step.returned is not None and error is None:
            self._refused_call(comp, step)

    def refund(self) -> int:
        """geth's refund counter: refunds of the running frames and their finished children."""
        total = self.active[0].msg.refund if self.active else 0
        for comp in self.active:
            total += comp._gas_meter.gas_refunded + comp._trace_child_refund
        return total

    # -- frames and logs ---------------------------------------------------------------------
    def child_starts(self, parent: Any, msg: Any) -> None:
        step = parent._trace_step
        op = step.op if step is not None else CALL
        if step is not None and not step.costed:
            step.cost = step.gas - parent._gas_meter.gas_remaining - (msg.gas if op in CREATES else 0)
            step.costed = True
        if op in CREATES:
            to, payload = msg.storage_address, msg.code
        else:
            to, payload = (step.target if step is not None else msg.to), msg.data
        value = None if op == STATICCALL else msg.value
        sender = parent.msg.storage_address
        self.tracer.enter(Frame(KINDS[op], sender, to, payload, msg.gas, value, msg.depth), parent.state)

    def child_ends(self, parent: Any, child: Any) -> None:
        parent._trace_child_refund += child.get_gas_refund()
        self.tracer.exit(child.msg.depth, self.end(child))

    def log(self, comp: Any, address: bytes, topics: tuple[int, ...], data: bytes) -> None:
        self.tracer.log(comp.msg.depth, address, topics, data)

    def _frame(self, comp: Any, frame: Frame, error: str | None) -> None:
        """A frame geth enters and leaves at once (SELFDESTRUCT, a CALL refused before it ran)."""
        frame.sender = comp.msg.storage_address
        self.tracer.enter(frame, comp.state)
        self.tracer.exit(frame.depth, FrameEnd(b"", 0, error, False))

    def _refused_call(self, comp: Any, step: Step) -> None:
        """py-evm gives a CALL's gas back without a frame when the caller lacks the value or the
        depth limit is reached; geth charges it, enters the frame (with the stipend) and fails it."""
        step.cost += step.returned  # what it charged: the gas given to the frame, stipend aside
        offset, size = step.args
        payload = bytes(comp._memory._bytes[offset : offset + size]) if size else b""
        deep = comp.msg.depth + 1 > STACK_DEPTH_LIMIT
        error = "max call depth exceeded" if deep else "insufficient balance for transfer"
        frame = Frame(KINDS[step.op], b"", step.target, payload, step.returned, step.value, step.depth)
        self._frame(comp, frame, error)


def traced_computation(base: type, tracing: Tracing) -> type:
    """`base` with every opcode wrapped and child frames, logs and returned gas reported."""
    opcodes = {op: _wrap(op, base.opcodes.get(op) or InvalidOpcode(op), tracing) for op in range(256)}

    class TracedComputation(base):
        _trace_pc = 0
        _trace_step = None
        _trace_child_refund = 0

        def apply_child_computation(self, child_msg: Any) -> Any:
            tracing.child_starts(self, child_msg)
            child = super().apply_child_computation(child_msg)
            tracing.child_ends(self, child)
            return child

        def return_gas(self, amount: int) -> None:
            super().return_gas(amount)
            step = self._trace_step
            if step is not None and step.op in CALLS and not step.costed:
                step.returned = amount

        def add_log_entry(self, account: bytes, topics: tuple[int, ...], data: bytes) -> None:
            super().add_log_entry(account, topics, data)
            tracing.log(self, account, topics, data)

    TracedComputation.opcodes = opcodes
    return TracedComputation


def _wrap(op: int, fn: Any, tracing: Tracing) -> Any:
    def traced(computation: Any) -> None:
        tracing.before(computation, op)
        try:
            fn(computation=computation)
        except (Halt, VMError) as exc:
            tracing.after(computation, exc)
            raise
        tracing.after(computation, None)

    return traced
