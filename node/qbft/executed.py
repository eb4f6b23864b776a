"""Blocks this node already executed for the height being decided, and how fast it executes.

A proposal is executed once: the proposer when it builds it, the others when they check it; the
receipts, or why it failed, are kept by block hash so that committing (or importing the same block
from a peer) does not run it again. The measured speed sizes the blocks
a proposer builds, so every validator can execute a proposal well inside the round timer: by the
gas the transactions ask (a heavy transaction costs what its gas says) and by their count (each
one costs a signature recovery and py-evm's own overhead whatever its gas).
"""

from __future__ import annotations

from typing import Any

from node.recent import Recent

KEEP = 64
MIN_TXS = 16  # a block may always hold this many transactions (with the gas floor below)
LEARN_TXS = 8  # smaller blocks say too little about the speed to count
LEARN_GAS = 1_000_000


class ExecutedBlocks:
    def __init__(self) -> None:
        self._receipts = Recent(KEEP)
        self._failures = Recent(KEEP)
        self.seconds_per_tx = 0.005  # refined by every block built or validated
        self.seconds_per_gas = 1 / 10_000_000  # of the gas transactions ask (their gas limit)

    def remember(self, digest: bytes, receipts: tuple) -> None:
        self._receipts.put(digest, receipts)

    def receipts(self, digest: bytes) -> tuple | None:
        return self._receipts.get(digest)

    def fail(self, digest: bytes, reason: str) -> None:
        """The block of this hash is invalid (on top of its parent, which its hash names)."""
        self._failures.put(digest, reason)

    def failure(self, digest: bytes) -> str | None:
        return self._failures.get(digest)

    def learn(self, seconds: float, block: Any) -> None:
        """Track execution speed (moving averages) from one executed block."""
        txs = block.transactions
        if len(txs) >= LEARN_TXS:
            self.seconds_per_tx = 0.7 * self.seconds_per_tx + 0.3 * (seconds / len(txs))
        asked = sum(tx.gas for tx in txs)
        if asked >= LEARN_GAS:
            self.seconds_per_gas = 0.7 * self.seconds_per_gas + 0.3 * (seconds / asked)

    def seconds_for(self, txs: Any) -> float:
        """How long these transactions are expected to take (where they run: node/offloop.py)."""
        return max(len(txs) * self.seconds_per_tx, sum(tx.gas for tx in txs) * self.seconds_per_gas)

    def max_txs(self, budget_seconds: float) -> int:
        """How many transactions fit in `budget_seconds` of execution (at least MIN_TXS)."""
        return max(MIN_TXS, int(budget_seconds / self.seconds_per_tx))

    def max_gas(self, budget_seconds: float, floor: int) -> int:
        """How much gas (as transactions ask it) fits in `budget_seconds`; at least `floor`, so
        that any transaction the chain accepts fits in a block of its own."""
        return max(floor, int(budget_seconds / self.seconds_per_gas))
