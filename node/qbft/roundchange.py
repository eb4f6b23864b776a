"""Round changes collected for one height (Besu's RoundChangeManager).

A validator whose round timer expires asks for the next round; the manager keeps one round change
per validator per target round and answers the two questions the round state machine asks:
are f+1 validators already in higher rounds (then we are behind and join the lowest of them), and
has a quorum asked for this round (then its proposer may propose, re-proposing the block of the
highest prepared round among them, if any: the QBFT lock).
"""

from __future__ import annotations

from node.qbft.messages import RoundChange

ROUNDS_PER_AUTHOR = 4


class RoundChangeManager:
    def __init__(self, quorum: int, max_faulty: int) -> None:
        self.quorum = quorum
        self.f = max_faulty
        self.by_round: dict[int, dict[bytes, RoundChange]] = {}

    def add(self, message: RoundChange) -> None:
        """A validated round change from a peer: the first one per author and round counts, and an
        author's are kept for its `ROUNDS_PER_AUTHOR` highest rounds only (all the f+1 rule and a
        quorum need; a flood over a million rounds keeps no more)."""
        self.by_round.setdefault(message.rid.round, {}).setdefault(message.author, message)
        rounds = sorted(r for r, by_author in self.by_round.items() if message.author in by_author)
        for r in rounds[:-ROUNDS_PER_AUTHOR]:
            del self.by_round[r][message.author]
            if not self.by_round[r]:
                del self.by_round[r]

    def add_own(self, message: RoundChange) -> None:
        """Our own round change (replaces any earlier one of ours for that round)."""
        self.by_round.setdefault(message.rid.round, {})[message.author] = message

    def round_to_join(self, current: int) -> int | None:
        """The lowest round that f+1 validators are already beyond `current` for, or None."""
        highest: dict[bytes, int] = {}
        for r, by_author in self.by_round.items():
            if r > current:
                for author in by_author:
                    highest[author] = max(highest.get(author, 0), r)
        if len(highest) < self.f + 1:
            return None
        target = sorted(highest.values(), reverse=True)[self.f]
        return target if target > current else None

    def quorum_for(self, round_: int) -> list[RoundChange] | None:
        """A quorum of round changes to `round_`, or None while there are fewer."""
        changes = self.by_round.get(round_, {})
        return list(changes.values()) if len(changes) >= self.quorum else None


def best_prepared(round_changes: list[RoundChange]) -> RoundChange | None:
    """The round change carrying the highest prepared round (Besu's RoundChangeArtifacts)."""
    prepared = [rc for rc in round_changes if rc.payload.prepared]
    return max(prepared, key=lambda rc: rc.payload.prepared[0], default=None)
