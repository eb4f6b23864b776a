"""Dev-mode block production: the node seals and commits its own blocks (on arrival, on an
interval, or only when asked), and the dev chain's controls that evm_*, anvil_* and hardhat_*
drive: seal now, move the clock, snapshot and revert, edit state, impersonate, drop, reset.

State edits (anvil_setBalance & co.) are blocks: a block without transactions whose state is the
head's with the edit applied (`Chain.build_state_edit`), committed like any other in one storage
transaction, its extraData naming the method. So every header's state root is the state after
it, proofs verify, the edit survives a restart, subscribers see a new head, and evm_revert undoes
it with the blocks after the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

from eth.abc import BlockAPI
from eth_utils import to_checksum_address

from node.abc import BlockProducerAPI, DevControlAPI, NodeAPI, RpcNamespaceAPI
from node.clock import DevClock
from node.rpc.dev import AnvilNamespace, EvmNamespace, HardhatNamespace

log = logging.getLogger("node.sealer")
IMPERSONATED = b""  # in the accounts map: an address sent for without a key


class DevSealer(BlockProducerAPI, DevControlAPI):
    """`block_time` None or 0: a block as soon as transactions are pending (batching all of them,
    anvil's automine); otherwise a block every `block_time` seconds, empty or not (anvil
    --block-time). `clock` is the node's clock too: the sealer stamps blocks with it and the
    controls move it. `accounts` is the node's unlocked accounts (address -> key), where an
    impersonated address is entered without a key."""

    def __init__(
        self,
        clock: DevClock,
        block_time: float | None = None,
        accounts: MutableMapping[str, bytes] | None = None,
    ) -> None:
        self.clock = clock
        self.automine = not block_time
        self.interval: float | None = block_time or None
        self.accounts = accounts if accounts is not None else {}
        self.node: NodeAPI | None = None
        self.snapshots: dict[int, tuple[int, float]] = {}  # id -> (head number, clock offset)
        self._next_snapshot = 1
        self._wake = asyncio.Event()  # a transaction arrived, or the mining mode changed
        self._mode = asyncio.Event()  # the mining mode changed (ends an interval's wait)
        self._task: asyncio.Task | None = None

    def rpc_namespaces(self) -> Sequence[RpcNamespaceAPI]:
        return (EvmNamespace(self), AnvilNamespace(self), HardhatNamespace(self))

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
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sealing failed")
                await asyncio.sleep(0.5)

    async def _step(self) -> None:
        """Wait for what the mining mode waits for, then seal (or re-read a changed mode)."""
        if self.interval:
            self._mode.clear()
            try:
                await asyncio.wait_for(self._mode.wait(), self.interval)
            except TimeoutError:
                self.seal()
            return
        await self._wake.wait()
        self._wake.clear()
        if not self.automine:
            return
        for _ in range(3):  # let requests already read from the sockets land in the pool first
            await asyncio.sleep(0)
        while self.automine and (candidates := self.node.txpool.pending(self.node.chain.gas_limit)):
            self.seal(candidates=candidates)
            await asyncio.sleep(0)

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

    # -- DevControlAPI: blocks and time ----------------------------------------------------------
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

    def set_mining(self, automine: bool | None = None, interval: float | None = None) -> None:
        """anvil's mining modes: automine on (interval off), automine off (an interval stays), an
        interval (automine off), interval 0 (no mining until evm_mine)."""
        if automine is not None:
            if automine:
                self.automine, self.interval = True, None
            elif self.automine:
                self.automine = False
        if interval is not None:
            self.automine, self.interval = False, interval or None
        self._wake.set()
        self._mode.set()

    def mining(self) -> tuple[bool, int | float | None]:
        interval = self.interval
        return self.automine, int(interval) if interval and float(interval).is_integer() else interval

    # -- DevControlAPI: snapshots and reset ------------------------------------------------------
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

    def reset(self) -> None:
        """Back to the genesis: blocks, pool, clock moves, snapshots and impersonations forgotten."""
        self.drop_all_transactions()
        self.node.chain.rewind(0)
        self.clock.offset, self.clock.next_timestamp = 0.0, None
        self.snapshots.clear()
        for address in [a for a, key in self.accounts.items() if key == IMPERSONATED]:
            del self.accounts[address]

    # -- DevControlAPI: state and accounts -------------------------------------------------------
    def edit_state(self, name: str, edit: Callable[[Any], None]) -> BlockAPI:
        chain = self.node.chain
        head = chain.head.timestamp
        # a timestamp set for the next block stays for the next block of transactions
        stamp = head + 1 if self.clock.next_timestamp is not None else self.clock.child_timestamp(head)
        block, receipts = chain.build_state_edit(edit, stamp, f"hubao dev: {name}".encode())
        chain.commit_block(block, receipts)
        return block

    def impersonate(self, address: bytes, on: bool) -> None:
        name = to_checksum_address(address)
        if on:
            self.accounts.setdefault(name, IMPERSONATED)
        elif self.accounts.get(name) == IMPERSONATED:
            del self.accounts[name]

    def drop_all_transactions(self) -> None:
        pool = self.node.txpool
        pending, queued = pool.content()
        pool.drop([tx for group in (pending, queued) for txs in group.values() for tx in txs])

    def drop_transaction(self, tx_hash: bytes) -> bool:
        pool = self.node.txpool
        tx = pool.get(tx_hash)
        if tx is None:
            return False
        pool.drop([tx])
        return True
