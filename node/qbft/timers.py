"""The two QBFT timers (Besu's BlockTimer and RoundTimer), on the node's asyncio loop.

The block timer says when round 0 of the next height starts: a block period after the parent's
timestamp, or the empty-block period while the pool is empty, and never before chain time has
passed the parent's timestamp (whole seconds, strictly increasing). Periods are wall seconds; the
clock's timescale turns them into chain seconds. The round timer fires once per round, after
the round's (exponentially growing) timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from node.abc import ClockAPI
from node.qbft.config import QbftConfig


class BlockTimer:
    def __init__(self, config: QbftConfig, clock: ClockAPI, pool_is_empty: Callable[[], bool]) -> None:
        self.config = config
        self.clock = clock
        self.pool_is_empty = pool_is_empty
        self._head_seen = time.monotonic()
        self._wake = asyncio.Event()

    def reset(self) -> None:
        """A new head arrived: the next height's schedule counts from now at the earliest."""
        self._head_seen = time.monotonic()

    def wake(self) -> None:
        """Something changed what is due (a transaction arrived): look again."""
        self._wake.set()

    def due(self, parent_timestamp: int) -> float:
        """When round 0 starts, in monotonic seconds."""
        period = self.config.block_period
        if self.config.empty_block_period > 0 and self.pool_is_empty():
            period = max(period, self.config.empty_block_period)
        scale = self.clock.timescale
        target = parent_timestamp + max(1.0, period * scale)
        return max(self._head_seen, time.monotonic() + (target - self.clock.now()) / scale)

    async def wait(self, parent_timestamp: int) -> None:
        """Return once round 0 of the height above `parent_timestamp`'s block is due."""
        while True:
            delay = self.due(parent_timestamp) - time.monotonic()
            if delay <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)


class RoundTimer:
    def __init__(self, config: QbftConfig) -> None:
        self.config = config
        self._handle: asyncio.TimerHandle | None = None

    def start(self, round_: int, on_expiry: Callable[[], None]) -> None:
        """(Re)start the timer for `round_`; only the latest start ever fires."""
        self.cancel()
        self._handle = asyncio.get_running_loop().call_later(self.config.round_timeout(round_), on_expiry)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
