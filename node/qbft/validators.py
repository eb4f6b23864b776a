"""Who validates which block: the genesis validators changed by header votes.

Block N's extraData lists the validators that seal N (validators_for(N)); its vote (cast by its
proposer, the coinbase) counts towards the set that seals N + 1. A vote passes when more than half
of the current validators voted the same way on the same address; then all votes on that address
are dropped, and a removed validator's own votes go too. Blocks at multiples of the epoch length
carry no vote and clear the tally. Committed blocks are final, so results are cached by number.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from node.qbft.extradata import ExtraData
from node.recent import Recent


def quorum(n: int) -> int:
    """ceil(2n/3) — Besu's BftHelpers.calculateRequiredValidatorQuorum."""
    return (2 * n + 2) // 3


def max_faulty(n: int) -> int:
    return (n - 1) // 3


def proposer_for(validators: tuple[bytes, ...], previous_proposer: bytes, round_: int) -> bytes:
    """Round-robin as Besu: the validator after the previous block's proposer, then one per round."""
    if previous_proposer in validators:
        start = validators.index(previous_proposer) + 1
    else:
        start = bisect.bisect_right(validators, previous_proposer)
    return validators[(start + round_) % len(validators)]


@dataclass
class Snapshot:
    """The tally after a block: validators for the next block and the votes still open."""

    validators: tuple[bytes, ...]
    votes: dict[tuple[bytes, bytes], bool] = field(default_factory=dict)  # (voter, target) -> add

    def apply(self, proposer: bytes, extra: ExtraData) -> Snapshot:
        vote = extra.vote
        validators = set(self.validators)
        votes = dict(self.votes)
        if vote is None or proposer not in validators or (vote.recipient in validators) == vote.add:
            return Snapshot(self.validators, votes)
        votes[(proposer, vote.recipient)] = vote.add
        agree = sum(1 for (_, t), a in votes.items() if t == vote.recipient and a == vote.add)
        if agree * 2 > len(validators):
            if vote.add:
                validators.add(vote.recipient)
            else:
                validators.discard(vote.recipient)
                votes = {k: v for k, v in votes.items() if k[0] != vote.recipient}
            votes = {k: v for k, v in votes.items() if k[1] != vote.recipient}
        return Snapshot(tuple(sorted(validators)), votes)


class ValidatorTracker:
    """validators_for(number), computed from committed headers (walks back to the last epoch)."""

    def __init__(self, get_header: Callable[[int], Any], epoch_length: int, cache_size: int = 4096) -> None:
        self._get_header = get_header
        self.epoch_length = max(1, epoch_length)
        self._cache = Recent(cache_size)

    def is_epoch(self, number: int) -> bool:
        return number % self.epoch_length == 0

    def snapshot_after(self, number: int) -> Snapshot:
        """The tally after committed block `number`."""
        todo: list[int] = []
        n = number
        while (snap := self._cache.get(n)) is None and not self.is_epoch(n):
            todo.append(n)
            n -= 1
        if snap is None:
            header = self._header(n)
            snap = self._cache.put(n, Snapshot(tuple(sorted(ExtraData.decode(header.extra_data).validators))))
        for n in reversed(todo):
            header = self._header(n)
            snap = self._cache.put(n, snap.apply(bytes(header.coinbase), ExtraData.decode(header.extra_data)))
        return snap

    def validators_for(self, number: int) -> tuple[bytes, ...]:
        """The validators that seal block `number` (number >= 1)."""
        if number <= 0:
            return tuple(sorted(ExtraData.decode(self._header(0).extra_data).validators))
        return self.snapshot_after(number - 1).validators

    def _header(self, number: int) -> Any:
        header = self._get_header(number)
        if header is None:
            raise LookupError(f"no committed header #{number}")
        return header


class VoteProposer:
    """This validator's own pending votes (qbft_proposeValidatorVote); one goes into each block it
    proposes, round-robin, skipping votes that would change nothing."""

    def __init__(self) -> None:
        self._votes: OrderedDict[bytes, bool] = OrderedDict()
        self._next = 0

    def propose(self, address: bytes, add: bool) -> None:
        self._votes[address] = add

    def discard(self, address: bytes) -> bool:
        return self._votes.pop(address, None) is not None

    def pending(self) -> dict[bytes, bool]:
        return dict(self._votes)

    def clear(self) -> None:
        self._votes.clear()

    def choose(
        self, validators: tuple[bytes, ...], may_add: Callable[[bytes], bool] = lambda address: True
    ) -> tuple[bytes, bool] | None:
        """The next vote that would change something (an add only for a node `may_add` allows)."""
        useful = [
            (a, add) for a, add in self._votes.items() if (a in validators) != add and (not add or may_add(a))
        ]
        if not useful:
            return None
        self._next = (self._next + 1) % len(useful)
        return useful[self._next]

    def included(self, address: bytes, add: bool) -> None:
        """Our vote made it into a committed block: it drops out."""
        if self._votes.get(address) == add:
            del self._votes[address]
