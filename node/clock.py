"""Clocks for header timestamps: the wall clock, and the dev clock that tests can move."""

from __future__ import annotations

import time

from node.abc import ClockAPI


class SystemClock(ClockAPI):
    def now(self) -> float:
        return time.time()


class DevClock(ClockAPI):
    """Wall clock plus an offset that `evm_increaseTime` / `evm_setNextBlockTimestamp` move."""

    def __init__(self, base: ClockAPI | None = None) -> None:
        self.base = base or SystemClock()
        self.offset = 0.0
        self.next_timestamp: int | None = None

    def now(self) -> float:
        return self.base.now() + self.offset

    def increase(self, seconds: int) -> int:
        self.offset += seconds
        return int(self.offset)

    def set_next_block_timestamp(self, timestamp: int) -> None:
        """The next block gets exactly this timestamp; time then runs on from it."""
        self.next_timestamp = timestamp
        self.offset = timestamp - self.base.now()

    def block_timestamp(self, parent_timestamp: int) -> int:
        if self.next_timestamp is not None:
            ts, self.next_timestamp = self.next_timestamp, None
            return ts
        return self.child_timestamp(parent_timestamp)
