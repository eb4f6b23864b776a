"""Dev-mode block production: the node seals and commits its own blocks (instant or interval),
and the dev chain's controls (seal now, move the clock, snapshot and revert) that evm_* drive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from eth.abc import BlockAPI

from node.abc import BlockProducerAPI, DevControlAPI, NodeAPI, RpcNamespaceAPI
from node.clock import DevClock
from node.rpc.dev import AnvilNamespace, EvmNamespace

log = logging.getLogger("node.sealer")


class DevSealer(BlockProducerAPI, DevControlAPI):
    """`block_time` None or 0: a block as soon as transactions are pending (batching all of them);
    otherwise a block every `block_time` seconds, empty or not (like anvil --block-time).

    `clock` is the node's clock too: the sealer stamps blocks with it and the controls move it.
    """

    def __init__(self, clock: DevClock, block_time: float | None = None) -> None:
        self.clock = clock
        self.block_time = block_time or None
        self.node: NodeAPI | None = None
        self.snapshots: dict[int, tuple[int, float]] = {}  # id -> (head number, clock offset)
        self._next_snapshot = 1
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def rpc_namespaces(self) -> Sequence[RpcNamespaceAPI]:
        return (EvmNamespace(self), AnvilNamespace(self))

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

    def seal(self, candidates: list | None = None) -> BlockAPI:
        """Build a block from the pool on top of head and commit it."""
        chain, pool = self.node.chain, self.node.txpool
        if candidates is None:
            candidates = pool.pending(chain.gas_limit)
        block, receipts = chain.build_block(candidates, self.clock.block_timestamp(chain.head.timestamp))
        chain.commit_block(block, receipts)
        if len(block.transactions) < len(candidates):
            included = {tx.hash for tx in block.transactions}
            room = block.header.gas_limit - block.header.gas_used
            pool.drop([tx for tx in candidates if tx.hash not in included and tx.gas <= room])
        return block

    # -- DevControlAPI -------------------------------------------------------------------------
    def mine(self, timestamp: int | None = None) -> BlockAPI:
        if timestamp is not None:
            self.set_next_block_timestamp(timestamp)
        return self.seal()

    def increase_time(self, seconds: int) -> int:
        return self.clock.increase(seconds)

    def set_next_block_timestamp(self, timestamp: int) -> None:
        head = self.node.chain.head.timestamp
        if timestamp <= head:
            raise ValueError(
                f"timestamp {timestamp} is lower than or equal to previous block's timestamp {head}"
            )
        self.clock.set_next_block_timestamp(timestamp)

    def snapshot(self) -> int:
        sid = self._next_snapshot
        self._next_snapshot += 1
        self.snapshots[sid] = (self.node.chain.head.block_number, self.clock.offset)
        return sid

    def revert(self, snapshot_id: int) -> bool:
        saved = self.snapshots.get(snapshot_id)
        if saved is None:
            return False
        number, offset = saved
        for later in [s for s in self.snapshots if s >= snapshot_id]:
            del self.snapshots[later]
        self.node.chain.rewind(number)
        self.clock.offset = offset
        self.clock.next_timestamp = None
        return True
