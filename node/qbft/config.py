"""QBFT settings from genesis `config.qbft` (Besu's names; periods are wall-clock seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QbftConfig:
    block_period: float = 1.0  # blockperiodseconds: minimum time between blocks
    request_timeout: float = 4.0  # requesttimeoutseconds: round 0 timer, doubled each round
    epoch_length: int = 30000  # epochlength: votes are cleared at multiples of this
    empty_block_period: float = 0.0  # emptyblockperiodseconds: 0 = an empty block every period
    max_request_timeout: float = 60.0  # the round timer stops doubling here
    timestamp_tolerance: float = 0.0  # wall seconds a proposal may be ahead of our clock (0 = auto)
    max_block_seconds: float = 0.0  # execution time a proposer packs into one block (0 = auto)

    @classmethod
    def from_genesis(cls, genesis: dict[str, Any]) -> QbftConfig:
        """From a genesis.json dict (or its "config" or "config.qbft" part)."""
        config = genesis.get("config", genesis)
        qbft = config.get("qbft", config)
        defaults = cls()
        return cls(
            block_period=float(qbft.get("blockperiodseconds", defaults.block_period)),
            request_timeout=float(qbft.get("requesttimeoutseconds", defaults.request_timeout)),
            epoch_length=int(qbft.get("epochlength", defaults.epoch_length)),
            empty_block_period=float(qbft.get("emptyblockperiodseconds", defaults.empty_block_period)),
            max_request_timeout=float(qbft.get("maxrequesttimeoutseconds", defaults.max_request_timeout)),
            timestamp_tolerance=float(qbft.get("timestamptoleranceseconds", 0)),
            max_block_seconds=float(qbft.get("maxblockexecutionseconds", 0)),
        )

    def round_timeout(self, round_: int) -> float:
        """Besu's exponential round timer, capped."""
        return min(
            self.request_timeout * (2 ** min(round_, 32)), max(self.max_request_timeout, self.request_timeout)
        )

    def block_budget(self) -> float:
        """How much execution a proposer puts in one block: every validator runs it before the
        round can progress, so it must stay well inside the round timer (py-evm runs ~100 tx/s)."""
        return self.max_block_seconds or max(0.5, self.request_timeout / 2)

    def tolerance(self) -> float:
        return self.timestamp_tolerance or max(2.0, self.block_period)
