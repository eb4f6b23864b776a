"""Building this validator's proposals (Besu's QbftBlockCreator).

A new block on top of the head: the validators of its height and one of our pending votes in
extraData (none at epoch blocks), the round it is proposed in, the pool's best transactions up to
what every validator can execute inside the round timer, and a timestamp from our clock that is
after the parent's. Re-proposing a locked block in a later round only changes its round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from node.abc import ChainAPI, ClockAPI, TxPoolAPI
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
        """A new block for the height above the head, or None if building it failed."""
        chain = self.chain
        height = chain.head.block_number + 1
        extra = self.extra_data(height, round_)
        txs = self.txpool.pending(chain.gas_limit)
        txs = txs[: self.executed.max_txs(self.config.block_budget())]
        started = time.perf_counter()
        try:
            block, receipts = chain.build_block(txs, self.timestamp(), extra, coinbase=self.coinbase)
        except Exception:
            log.exception("building block #%d failed", height)
            return None
        self.executed.learn(time.perf_counter() - started, len(block.transactions))
        self.executed.remember(block_hash(block.header), receipts)
        return block


def reround(block: Any, round_: int) -> Any:
    """The same block proposed in another round (its hash does not change: the round is not hashed)."""
    extra = ExtraData.decode(block.header.extra_data).with_round(round_)
    return block.copy(header=block.header.copy(extra_data=extra.encode()))
