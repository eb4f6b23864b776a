"""Dev-mode block production: the node seals and commits its own blocks (instant or interval)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from eth.abc import BlockAPI

from node.abc import BlockProducerAPI, NodeAPI
from node.clock import DevClock

log = logging.getLogger("node.sealer")


class DevSealer(BlockProducerAPI):
    """`block_time` None or 0: a block as soon as transactions are pending (batching all of them);
    otherwise a block every `block_time` seconds, empty or not (like anvil --block-time)."""

    def __init__(self, block_time: float | None = None) -> None:
        self.block_time = block_time or None
        self.node: NodeAPI | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self, node: NodeAPI) -> None:
        self.node = node
        node.txpool.on_new_tx.append(lambda tx: self._wake.set())
        self._task = asyncio.create_task(self._run(), name="dev-sealer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                if self.block_time:
                    await asyncio.sleep(self.block_time)
                    self.seal()
                else:
                    await self._wake.wait()
                    self._wake.clear()
                    # let requests already read from the sockets land in the pool first
                    for _ in range(3):
                        await asyncio.sleep(0)
                    while candidates := self.node.txpool.pending(self.node.chain.gas_limit):
                        self.seal(candidates=candidates)
                        await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sealing failed")
                await asyncio.sleep(0.5)

    def seal(self, timestamp: int | None = None, candidates: list | None = None) -> BlockAPI:
        """Build a block from the pool on top of head and commit it (also used by evm_mine)."""
        node = self.node
        chain, pool = node.chain, node.txpool
        clock = node.clock
        if timestamp is None:
            if isinstance(clock, DevClock):
                timestamp = clock.block_timestamp(chain.head.timestamp)
            else:
                timestamp = max(int(clock.now()), chain.head.timestamp + 1)
        if candidates is None:
            candidates = pool.pending(chain.gas_limit)
        block, receipts = chain.build_block(candidates, timestamp)
        chain.commit_block(block, receipts)
        if len(block.transactions) < len(candidates):
            included = {tx.hash for tx in block.transactions}
            room = block.header.gas_limit - block.header.gas_used
            pool.drop([tx for tx in candidates if tx.hash not in included and tx.gas <= room])
        return block
