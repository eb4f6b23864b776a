"""What a tracer sees of one traced transaction (geth's tracing.Hooks, in geth's terms).

`Step` is an opcode before it runs (pc, gas left, depth from 1, the refund counter), with geth's
gas cost and error filled in once it ran; `Frame` a call frame entered (depth 0 is the
transaction), `FrameEnd` how it ended, with geth's error texts (core/vm/errors.go).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    InsufficientFunds,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfBoundsRead,
    OutOfGas,
    ReservedBytesInCode,
    Revert,
    StackDepthLimit,
    VMError,
    WriteProtection,
)


class TraceAborted(Exception):
    """A trace stopped before its transaction finished (timeout, size); the message is for the caller."""


@dataclass(slots=True)
class TxInfo:
    """What a tracer knows when the traced transaction starts (geth's OnTxStart)."""

    sender: bytes
    to: bytes  # the created address for a contract creation
    is_create: bool
    value: int
    data: bytes
    gas: int
    coinbase: bytes
    authorities: tuple[bytes, ...] = ()
    log_base: int = 0  # logs of the block's earlier transactions (geth's log index)


@dataclass(slots=True)
class Step:
    """One opcode as geth's OnOpcode sees it; `cost` and `error` are known once it ran."""

    pc: int
    op: int
    gas: int
    depth: int
    refund: int
    cost: int = 0
    error: str | None = None
    target: bytes = b""  # the address a CALL* or SELFDESTRUCT names
    value: int | None = None  # what a CALL* sends, or the balance a SELFDESTRUCT hands on
    args: tuple[int, int] = (0, 0)  # a CALL*'s input: memory offset and size
    returned: int | None = None  # the gas a CALL* that ran no frame gave back
    costed: bool = False


@dataclass(slots=True)
class Frame:
    """A call frame entered (geth's OnEnter); depth 0 is the transaction itself."""

    kind: str
    sender: bytes
    to: bytes
    input: bytes
    gas: int
    value: int | None
    depth: int


@dataclass(slots=True)
class FrameEnd:
    output: bytes
    gas_used: int
    error: str | None
    reverted: bool  # the error is a REVERT, so `output` is its revert data


class TracerAPI(ABC):  # noqa: B024 (every hook may be left out)
    """The hooks a tracer may use; state reads go through `state` (a py-evm StateAPI)."""

    def start(self, tx: TxInfo, state: Any) -> None:  # noqa: B027
        """Before anything of the transaction has run (no gas bought, nonce not raised)."""

    def step(self, step: Step, computation: Any) -> None:  # noqa: B027
        """Before an opcode runs: `computation` holds its frame's stack, memory and state."""

    def enter(self, frame: Frame, state: Any) -> None:  # noqa: B027
        """A child frame starts (depth >= 1); nothing of it has run yet."""

    def exit(self, depth: int, end: FrameEnd) -> None:  # noqa: B027
        """A child frame ended."""

    def log(self, depth: int, address: bytes, topics: tuple[int, ...], data: bytes) -> None:  # noqa: B027
        """A LOG opcode ran in the frame at `depth` (geth's OnLog)."""

    def end(self, top: FrameEnd, gas_used: int, state: Any) -> None:  # noqa: B027
        """The transaction ended; `gas_used` is its receipt's."""

    @abstractmethod
    def result(self) -> Any:
        """The JSON answer."""


_KNOWN = (
    (InvalidJumpDestination, "invalid jump destination"),
    (WriteProtection, "write protection"),
    (OutOfBoundsRead, "return data out of bounds"),
    (StackDepthLimit, "max call depth exceeded"),
    (InsufficientFunds, "insufficient balance for transfer"),
    (ContractCreationCollision, "contract address collision"),
    (ReservedBytesInCode, "invalid code: must not begin with 0xef"),
    (InsufficientStack, "stack underflow"),
    (FullStack, "stack overflow"),
)


def error_text(error: VMError | None, name: str = "") -> str | None:
    """geth's text for a py-evm execution error; `name` is the opcode that raised it."""
    if error is None:
        return None
    message = str(error)
    if isinstance(error, Revert):
        return "execution reverted"
    if isinstance(error, InvalidInstruction):
        return f"invalid opcode: {name}"
    if isinstance(error, OutOfGas):
        if "Write contract code" in message:
            return "contract creation code storage out of gas"
        if "EIP170" in message:
            return "max code size exceeded"
        if "EIP-3860" in message or "initcode" in message.lower():
            return "max initcode size exceeded"
        return "out of gas"
    for cls, text in _KNOWN:
        if isinstance(error, cls):
            return text
    return message or type(error).__name__


def frame_end(computation: Any, name: str = "") -> FrameEnd:
    error = computation.error if computation.is_error else None
    return FrameEnd(
        computation.output, computation.get_gas_used(), error_text(error, name), isinstance(error, Revert)
    )
