"""Blocks this node already executed for the height being decided, and how fast it executes.

A proposal is executed once: the proposer when it builds it, the others when they check it; the
receipts are kept by block hash so that committing (or importing the same block from a peer)
does not run it again. The measured seconds per transaction size the blocks a proposer builds,
so every validator can execute a proposal well inside the round timer.
"""

from __future__ import annotations

from node.recent import Recent

KEEP = 64


class ExecutedBlocks:
    def __init__(self) -> None:
        self._receipts = Recent(KEEP)
        self.seconds_per_tx = 0.005  # refined by every block built or validated

    def remember(self, digest: bytes, receipts: tuple) -> None:
        self._receipts.put(digest, receipts)

    def receipts(self, digest: bytes) -> tuple | None:
        return self._receipts.get(digest)

    def learn(self, seconds: float, n_txs: int) -> None:
        """Track execution speed (moving average); small blocks say too little to count."""
        if n_txs >= 8:
            self.seconds_per_tx = 0.7 * self.seconds_per_tx + 0.3 * (seconds / n_txs)

    def max_txs(self, budget_seconds: float) -> int:
        """How many transactions fit in `budget_seconds` of execution (at least 16)."""
        return max(16, int(budget_seconds / self.seconds_per_tx))
