"""What one validator knows about one round of one height (Besu's RoundState)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from node.qbft.messages import Commit, Prepare, Proposal


@dataclass(frozen=True)
class PreparedCertificate:
    """A block that a quorum prepared in `round`: carried into round changes (the QBFT lock)."""

    round: int
    block: Any  # py-evm block, extraData round == `round`
    digest: bytes
    prepares: tuple[Prepare, ...]


@dataclass
class RoundState:
    round: int
    proposal: Proposal | None = None
    block: Any = None  # the proposal's block once validated
    digest: bytes | None = None
    prepares: dict[bytes, Prepare] = field(default_factory=dict)
    commits: dict[bytes, Commit] = field(default_factory=dict)
    sent_prepare: bool = False
    sent_commit: bool = False
    proposed: bool = False  # we sent the proposal for this round

    def matching_prepares(self) -> list[Prepare]:
        return [p for p in self.prepares.values() if p.digest == self.digest]
