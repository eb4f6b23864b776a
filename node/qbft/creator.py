"""Building this validator's proposals (Besu's QbftBlockCreator).

A new block on top of the head: the validators of its height and one of our pending votes in
extraData (none at epoch blocks), the round it is proposed in, the pool's best transactions up to
what every validator can execute inside the round timer (by gas and by count: executed.py), and a
timestamp from our clock that is after the parent's. Re-proposing a locked block in a later round
only changes its round. When the block timer expires the block is built on the execution thread
(node/offloop.py), so the loop keeps serving while it runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from node.abc import ChainAPI, ClockAPI, TxPoolAPI
from node.genesis import TX_GAS_LIMIT_CAP
from node.qbft.config import QbftConfig
from node.qbft.executed import ExecutedBlocks
from node.qbft.extradata import ExtraData, Vote, block_hash
from node.qbft.validators import ValidatorTracker, VoteProposer

log = logging.getLogger("node.qbft")


class BlockCreator:
    def __init__(
        self,
        chain: ChainAPI,
        txpool: TxPoolAPI,
        clock: ClockAPI,
        config: QbftConfig,
        tracker: ValidatorTracker,
        votes: VoteProposer,
        coinbase: bytes,
        executed: ExecutedBlocks,
    ) -> None:
        self.chain = chain
        self.txpool = txpool
        self.clock = clock
        self.config = config
        self.tracker = tracker
        self.votes = votes
        self.coinbase = coinbase
        self.executed = executed
        self.node_allowed: Callable[[bytes, Any], bool] | None = None  # (address, parent header)
        self._ready: tuple[bytes, int, Any] | None = None  # (parent hash, round, block) built ahead

    def extra_data(self, height: int, round_: int) -> bytes:
        validators = self.tracker.validators_for(height)
        parent = self.chain.head
        allowed = self.node_allowed
        may_add = (lambda address: allowed(address, parent)) if allowed else (lambda address: True)
        vote = None if self.tracker.is_epoch(height) else self.votes.choose(validators, may_add)
        return ExtraData(validators, Vote(*vote) if vote else None, round_).encode()

    def timestamp(self) -> int:
        """Our clock's time, and at least Besu's minimum spacing after the parent's timestamp."""
        return max(int(self.clock.now()), self.chain.head.timestamp + self.config.min_spacing)

    def create(self, round_: int) -> Any | None:
        """A new block for the height above the head, or None if building it failed: the one
        `build_ahead` made for this head and round, else built here, on the caller's thread."""
        ready, self._ready = self._ready, None
        if ready is not None and ready[:2] == (self.chain.head.hash, round_):
            return ready[2]
        txs, timestamp, extra = self._contents(round_)
        started = time.perf_counter()
        try:
            block, receipts = self.chain.build_block(txs, timestamp, extra, coinbase=self.coinbase)
        except Exception:
            log.exception("building block #%d failed", self.chain.head.block_number + 1)
            return None
        return self._built(block, receipts, time.perf_counter() - started)

    async def build_ahead(self, round_: int) -> None:
        """Build the block `create(round_)` will propose, on the execution thread (the caller
        holds the execution lock, so the head stays where it is until `create`)."""
        head = self.chain.head
        txs, timestamp, extra = self._contents(round_)
        started = time.perf_counter()
        try:
            expected = self.executed.seconds_for(txs)
            block, receipts = await self.chain.execution.run(
                self.chain.build_block, txs, timestamp, extra, self.coinbase, expected=expected
            )
        except Exception:
            log.exception("building block #%d failed", head.block_number + 1)
            return
        self._ready = (head.hash, round_, self._built(block, receipts, time.perf_counter() - started))

    def _contents(self, round_: int) -> tuple[list, int, bytes]:
        """The pool's best transactions within the execution budget, the timestamp, extraData."""
        chain = self.chain
        budget = self.config.block_budget()
        floor = min(chain.gas_limit, chain.tx_gas_cap or TX_GAS_LIMIT_CAP)  # one transaction at the cap
        txs = self.txpool.pending(min(chain.gas_limit, self.executed.max_gas(budget, floor)))
        txs = txs[: self.executed.max_txs(budget)]
        return txs, self.timestamp(), self.extra_data(chain.head.block_number + 1, round_)

    def _built(self, block: Any, receipts: tuple, seconds: float) -> Any:
        self.executed.learn(seconds, block)
        self.executed.remember(block_hash(block.header), receipts)
        return block


def reround(block: Any, round_: int) -> Any:
    """The same block proposed in another round (its hash does not change: the round is not hashed)."""
    extra = ExtraData.decode(block.header.extra_data).with_round(round_)
    return block.copy(header=block.header.copy(extra_data=extra.encode()))
