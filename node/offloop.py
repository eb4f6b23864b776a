"""Heavy blocks execute on one thread beside the event loop, so JSON-RPC, p2p and consensus
messages keep their turns while one runs.

The thread only executes (py-evm over an overlay, through a read transaction of its own:
`Store.reading`); committing stays on the loop, one LMDB write. `lock` orders whatever executes or
commits a block (a proposal checked, a block built, a block imported by sync or from a peer): the
holder awaits `run` and commits before the next may start, so the head never moves under an
execution. Python's GIL still shares one core between the thread and the loop; the loop gets it
back every switch interval (5 ms), which is what makes an `eth_blockNumber` wait milliseconds
instead of a block's execution time. Each hand-over costs the loop up to that interval, so a block
expected to take less than INLINE (most blocks of a steady chain) runs on the loop as before: for
it the thread would only add hand-overs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
INLINE = 0.05  # seconds: a block expected to execute faster than this runs on the loop


class ExecutionThread:
    def __init__(self, store: Any) -> None:
        self.store = store
        self._pool: ThreadPoolExecutor | None = None
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    @property
    def lock(self) -> asyncio.Lock:
        """The running loop's lock (a chain outlives the loops of tests that restart a node)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        return self._lock[1]

    async def run(self, fn: Callable[..., T], *args: Any, expected: float = INLINE) -> T:
        """`fn(*args)` on the execution thread, inside a read snapshot of the store, or on the
        loop when it is `expected` to take under INLINE seconds (the caller holds `lock` when the
        result will be committed)."""
        if expected < INLINE:
            return fn(*args)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="hubao-execute")
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._reading, fn, args)

    def _reading(self, fn: Callable[..., T], args: tuple) -> T:
        with self.store.reading():
            return fn(*args)

    def close(self) -> None:
        """Wait for a block in progress (its result is not committed), then end the thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
