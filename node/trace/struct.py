"""geth's default tracer, the struct logger (eth/tracers/logger): one entry per opcode.

Entries are geth's legacy JSON: pc, op (name), gas, gasCost, depth, error, stack (bottom first,
minimal hex), returnData, memory (32-byte words), storage (the contract's slots seen so far, on
SLOAD and SSTORE only), refund; empty ones are left out as geth leaves them out. An entry is
written out once the next opcode starts (its cost and error are known by then), so memory holds
the JSON so far and one pending step, and the answer is bounded by `limit` and MAX_BYTES.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from node.trace.abc import FrameEnd, Step, TraceAborted, TracerAPI, TxInfo
from node.trace.opcodes import NAMES, SLOAD, SSTORE

MAX_BYTES = 64 << 20  # the struct logs one request builds at most (geth streams; we answer in one reply)


@dataclass
class Budget:
    """Bytes of struct logs a request may still build, shared by a block's transactions."""

    left: int = MAX_BYTES


@dataclass(frozen=True)
class StructConfig:
    """geth's logger.Config: what each entry carries, and `limit`, the most bytes of entries."""

    enable_memory: bool = False
    disable_stack: bool = False
    disable_storage: bool = False
    enable_return_data: bool = False
    limit: int = 0


def _int(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def _hash(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


class StructLogger(TracerAPI):
    def __init__(self, config: StructConfig, budget: Budget | None = None) -> None:
        self.config = config
        self.budget = budget or Budget()
        self.logs: list[dict] = []
        self.size = 0
        self.storage: dict[bytes, dict[str, str]] = {}
        self._pending: tuple[Step, dict] | None = None
        self._end: FrameEnd | None = None
        self._gas_used = 0

    def start(self, tx: TxInfo, state: Any) -> None:
        self.storage.clear()

    def step(self, step: Step, computation: Any) -> None:
        self._flush()
        if self.config.limit and self.size > self.config.limit:
            return
        cfg = self.config
        extra: dict[str, Any] = {}
        stack = computation._stack.values
        if not cfg.disable_stack:
            extra["stack"] = [hex(_int(v)) for v in stack]
        if cfg.enable_return_data and computation.return_data:
            extra["returnData"] = "0x" + computation.return_data.hex()
        memory = computation._memory._bytes
        if cfg.enable_memory and memory:
            extra["memory"] = ["0x" + memory[i : i + 32].hex() for i in range(0, len(memory), 32)]
        if not cfg.disable_storage and step.op in (SLOAD, SSTORE):
            seen = self.storage.setdefault(computation.msg.storage_address, {})
            if step.op == SLOAD and stack:
                slot = _int(stack[-1])
                value = computation.state.get_storage(computation.msg.storage_address, slot)
                seen[_hash(slot)] = _hash(value)
                extra["storage"] = dict(seen)
            elif step.op == SSTORE and len(stack) >= 2:
                seen[_hash(_int(stack[-1]))] = _hash(_int(stack[-2]))
                extra["storage"] = dict(seen)
        self._pending = (step, extra)

    def _flush(self) -> None:
        if self._pending is None:
            return
        step, extra = self._pending
        self._pending = None
        entry: dict[str, Any] = {
            "pc": step.pc,
            "op": NAMES[step.op],
            "gas": step.gas,
            "gasCost": step.cost,
            "depth": step.depth,
        }
        if step.error:
            entry["error"] = step.error
        for key in ("stack", "returnData", "memory", "storage"):
            if key in extra:
                entry[key] = extra[key]
        if step.refund:
            entry["refund"] = step.refund
        size = len(json.dumps(entry, separators=(",", ":")))
        self.size += size
        self.budget.left -= size
        if self.budget.left < 0:
            raise TraceAborted(
                f"struct logs larger than {MAX_BYTES >> 20} MiB: set limit, disableStack or use callTracer"
            )
        self.logs.append(entry)

    def end(self, top: FrameEnd, gas_used: int, state: Any) -> None:
        self._flush()
        self._end = top
        self._gas_used = gas_used

    def result(self) -> dict:
        top = self._end
        failed = top is not None and top.error is not None
        output = top.output if top is not None and (not failed or top.reverted) else b""
        return {
            "gas": self._gas_used,
            "failed": failed,
            "returnValue": "0x" + output.hex(),
            "structLogs": self.logs,
        }
