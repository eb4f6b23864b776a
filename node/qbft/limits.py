"""What a node keeps of consensus traffic it cannot use yet: Besu's bounds, under Besu's names.

Besu reads these from genesis (`messageQueueLimit`, `futureMessagesLimit`,
`futureMessagesMaxDistance`); they bound only what one node holds, not what the chain accepts, so
here each organisation sets them in node.toml `[qbft]` (docs/nodes.md). Added to Besu's: the
bytes the future buffer may hold (a count alone would let 1000 block-sized messages take 8 GB)
and how many rounds ahead of ours a PROPOSAL, PREPARE or COMMIT is kept.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QbftLimits:
    message_queue_limit: int = 1000  # received messages waiting to be processed (Besu's default)
    future_messages_limit: int = 1000  # buffered for heights above ours (Besu's default)
    future_messages_max_distance: int = 10  # how far above ours (Besu's default)
    future_messages_bytes: int = 64 * 1024 * 1024  # and their bytes
    future_rounds: int = 10  # rounds above ours kept at our height (round changes are kept per author)
