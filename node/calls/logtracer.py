"""eth_simulateV1's log tracer (geth's internal/ethapi/logtracer.go): the logs of every frame in
the order they happen, a failed frame's dropped with its children's, and with `traceTransfers`
each ether transfer as an ERC-7528 log (address 0xEeee…EEeE, Transfer(from, to, value)) of
a call's or create's value (not a DELEGATECALL's or CALLCODE's) and of a SELFDESTRUCT's balance.

It hooks a computation class of the simulation's own: message entry and exit, LOG, SELFDESTRUCT.
"""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

TRANSFER_TOPIC = int.from_bytes(keccak(b"Transfer(address,address,uint256)"), "big")
TRANSFER_ADDRESS = bytes.fromhex("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
SELFDESTRUCT = 0xFF


class LogTracer:
    def __init__(self, transfers: bool) -> None:
        self.transfers = transfers
        self.frames: list[list[tuple]] = []
        self.count = 0  # log index across the block, as geth's tracer counts

    def reset(self) -> None:
        self.frames = []

    def logs(self) -> list[tuple]:
        """(address, topics, data, log index) of the transaction just run."""
        return self.frames[0] if self.frames else []

    def _capture(self, address: bytes, topics: tuple, data: bytes) -> None:
        self.frames[-1].append((address, topics, data, self.count))
        self.count += 1

    def transfer(self, sender: bytes, to: bytes, value: int) -> None:
        if self.transfers and value > 0:
            words = (TRANSFER_TOPIC, int.from_bytes(sender, "big"), int.from_bytes(to, "big"))
            self._capture(TRANSFER_ADDRESS, words, value.to_bytes(32, "big"))

    def enter(self, message: Any) -> None:
        self.frames.append([])
        callcode = message.sender == message.storage_address != message.code_address
        if message.should_transfer_value and not callcode:
            self.transfer(message.sender, message.storage_address, message.value)

    def exit(self, failed: bool) -> None:
        frame = self.frames.pop()
        if not self.frames:  # the transaction's own frame
            self.frames.append([] if failed else frame)
        elif not failed:
            self.frames[-1].extend(frame)

    def frame(self, message: Any, run: Any) -> Any:
        """`run()` (a message's execution) as one frame: its logs kept unless it fails."""
        self.enter(message)
        failed = True
        try:
            computation = run()
            failed = computation.is_error
            return computation
        finally:
            self.exit(failed)

    def computation_class(self, base: type) -> type:
        tracer = self
        opcodes = dict(base.opcodes)
        selfdestruct = opcodes[SELFDESTRUCT]

        class Selfdestruct:
            mnemonic = "SELFDESTRUCT"

            def __call__(self, computation: Any) -> Any:
                stack = computation._stack.values
                if stack:
                    word = stack[-1] if isinstance(stack[-1], int) else int.from_bytes(stack[-1], "big")
                    here = computation.msg.storage_address
                    to = (word & ((1 << 160) - 1)).to_bytes(20, "big")
                    tracer.transfer(here, to, computation.state.get_balance(here))
                return selfdestruct(computation=computation)

        opcodes[SELFDESTRUCT] = Selfdestruct()

        class Traced(base):
            _creating = False

            @classmethod
            def apply_message(cls, state, message, transaction_context, parent_computation=None):
                args = (state, message, transaction_context, parent_computation)
                if Traced._creating:  # the create's frame is open already
                    Traced._creating = False
                    return super().apply_message(*args)
                return tracer.frame(message, lambda: super(Traced, cls).apply_message(*args))

            @classmethod
            def apply_create_message(cls, state, message, transaction_context, parent_computation=None):
                args = (state, message, transaction_context, parent_computation)
                Traced._creating = True
                try:
                    return tracer.frame(message, lambda: super(Traced, cls).apply_create_message(*args))
                finally:
                    Traced._creating = False

            def add_log_entry(self, account: bytes, topics: tuple, data: bytes) -> None:
                super().add_log_entry(account, topics, data)
                tracer._capture(account, topics, data)

        Traced.opcodes = opcodes
        return Traced
