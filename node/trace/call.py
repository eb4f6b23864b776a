"""geth's callTracer (eth/tracers/native/call.go): the tree of call frames, with `onlyTopCall` and
`withLog`.

A frame is {from, gas, gasUsed, to, input, output, error, revertReason, calls, logs, value, type};
empty optional fields are left out as geth leaves them out (a STATICCALL has no value, a failed
CREATE no `to`). The top frame's gas is the transaction's gas limit and its gasUsed the receipt's.
Logs carry their index in the block and their position among the frame's calls; logs of frames
that failed are dropped, as geth drops them.
"""

from __future__ import annotations

from typing import Any

from eth_abi import decode as abi_decode

from node.trace.abc import Frame, FrameEnd, TracerAPI, TxInfo

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


def unpack_revert(data: bytes) -> str | None:
    """geth's abi.UnpackRevert: the reason of an Error(string) or Panic(uint256), else None."""
    try:
        if data[:4] == ERROR_SELECTOR:
            return abi_decode(["string"], data[4:])[0]
        if data[:4] == PANIC_SELECTOR:
            code = abi_decode(["uint256"], data[4:])[0]
            return PANIC_REASONS.get(code, f"unknown panic code: {code:#x}")
    except Exception:
        return None
    return None


def _hb(value: bytes) -> str:
    return "0x" + value.hex()


class CallTracer(TracerAPI):
    def __init__(self, only_top_call: bool = False, with_log: bool = False) -> None:
        self.only_top_call = only_top_call
        self.with_log = with_log
        self.stack: list[dict] = []
        self.marks: list[int] = []  # the log count at each open frame's start
        self.logs_alive = 0

    def start(self, tx: TxInfo, state: Any) -> None:
        frame = {"from": tx.sender, "gas": tx.gas, "gasUsed": 0, "to": tx.to, "input": tx.data}
        frame |= {"value": tx.value, "type": "CREATE" if tx.is_create else "CALL"}
        self.stack = [frame]
        self.logs_alive = tx.log_base

    def enter(self, frame: Frame, state: Any) -> None:
        self.marks.append(self.logs_alive)
        if self.only_top_call:
            return
        call = {"from": frame.sender, "gas": frame.gas, "gasUsed": 0, "to": frame.to, "input": frame.input}
        call |= {"value": frame.value, "type": frame.kind}
        self.stack.append(call)

    def exit(self, depth: int, end: FrameEnd) -> None:
        mark = self.marks.pop()
        if end.error is not None:  # geth's journal takes back the logs of a frame that failed
            self.logs_alive = mark
        if self.only_top_call or len(self.stack) <= 1:
            return
        call = self.stack.pop()
        call["gasUsed"] = end.gas_used
        _output(call, end)
        self.stack[-1].setdefault("calls", []).append(call)

    def log(self, depth: int, address: bytes, topics: tuple[int, ...], data: bytes) -> None:
        index = self.logs_alive
        self.logs_alive += 1
        if not self.with_log or (self.only_top_call and depth > 0):
            return
        frame = self.stack[-1]
        entry = {"address": address, "topics": topics, "data": data, "index": index}
        entry["position"] = len(frame.get("calls", ()))
        frame.setdefault("logs", []).append(entry)

    def end(self, top: FrameEnd, gas_used: int, state: Any) -> None:
        frame = self.stack[0]
        _output(frame, top)
        frame["gasUsed"] = gas_used
        if self.with_log:
            _drop_failed_logs(frame, False)

    def result(self) -> dict:
        return _json(self.stack[0])


def _output(call: dict, end: FrameEnd) -> None:
    """geth's processOutput: output on success, else error, and revert data with its reason."""
    if end.error is None:
        call["output"] = end.output
        return
    call["error"] = end.error
    if call["type"] in ("CREATE", "CREATE2"):
        call["to"] = None
    if not end.reverted or not end.output:
        return
    call["output"] = end.output
    reason = unpack_revert(end.output)
    if reason is not None:
        call["revertReason"] = reason


def _drop_failed_logs(call: dict, parent_failed: bool) -> None:
    failed = parent_failed or "error" in call
    if failed:
        call.pop("logs", None)
    for child in call.get("calls", ()):
        _drop_failed_logs(child, failed)


def _json(call: dict) -> dict:
    out: dict[str, Any] = {
        "from": _hb(call["from"]),
        "gas": hex(call["gas"]),
        "gasUsed": hex(call["gasUsed"]),
    }
    if call["to"] is not None:
        out["to"] = _hb(call["to"])
    out["input"] = _hb(call["input"])
    if call.get("output"):
        out["output"] = _hb(call["output"])
    for key in ("error", "revertReason"):
        if call.get(key):
            out[key] = call[key]
    if call.get("calls"):
        out["calls"] = [_json(child) for child in call["calls"]]
    if call.get("logs"):
        out["logs"] = [
            {
                "address": _hb(lg["address"]),
                "topics": ["0x" + t.to_bytes(32, "big").hex() for t in lg["topics"]],
                "data": _hb(lg["data"]),
                "index": hex(lg["index"]),
                "position": hex(lg["position"]),
            }
            for lg in call["logs"]
        ]
    if call["value"] is not None:
        out["value"] = hex(call["value"])
    out["type"] = call["type"]
    return out
