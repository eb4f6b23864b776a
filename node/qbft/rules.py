"""QBFT's header rules, plugged into the chain (node.abc.ConsensusRulesAPI).

The chain must be created with these rules in consortium mode, so that a header's identity is the
QBFT block hash (seals and round excluded) from the genesis on.
"""

from __future__ import annotations

from typing import Any

from node.abc import ConsensusRulesAPI
from node.errors import InvalidBlock
from node.qbft.extradata import BFT_MIX_HASH, ExtraData, InvalidExtraData, block_hash, seal_authors
from node.qbft.keys import InvalidSignature
from node.qbft.validators import ValidatorTracker, quorum

# Besu's QBFT header constants (BftBlockCreator, BftHelpers, AbstractBlockCreator's zero beacon root)
HEADER_FIELDS = {
    "difficulty": 1,
    "mix_hash": BFT_MIX_HASH,
    "nonce": b"\0" * 8,
    "parent_beacon_block_root": b"\0" * 32,
}


class QbftRules(ConsensusRulesAPI):
    def __init__(self, epoch_length: int = 30000) -> None:
        self.epoch_length = epoch_length
        self.tracker: ValidatorTracker | None = None

    def bind(self, chain: Any) -> ValidatorTracker:
        """Give the rules the committed chain they read validator sets from."""
        if self.tracker is None:
            self.tracker = ValidatorTracker(chain.get_header_by_number, self.epoch_length)
        return self.tracker

    def block_hash(self, header: Any) -> bytes:
        try:
            return block_hash(header)
        except InvalidExtraData:  # not a QBFT header: it can only be refused later, give it an identity
            return super().block_hash(header)

    def header_fields(self) -> dict[str, Any]:
        return dict(HEADER_FIELDS)

    def validate_header(self, header: Any, parent: Any) -> None:
        """extraData well-formed; the expected validators; built by a validator; no vote at epochs."""
        try:
            extra = ExtraData.decode(header.extra_data)
        except InvalidExtraData as exc:
            raise InvalidBlock(f"block #{header.block_number}: {exc}") from exc
        if self.tracker is None:
            return
        number = header.block_number
        expected = self.tracker.validators_for(number)
        if tuple(extra.validators) != expected:
            raise InvalidBlock(f"block #{number} lists the wrong validators")
        if extra.vote is not None and self.tracker.is_epoch(number):
            raise InvalidBlock(f"block #{number} is an epoch block and may not carry a vote")
        # Besu's coinbase rule: a validator. It names who built the block, which is not always the
        # proposer of the round that committed it: a block locked in round r is re-proposed later.
        if bytes(header.coinbase) not in expected:
            raise InvalidBlock(f"block #{number}: coinbase is not a validator")

    def verify_seals(self, header: Any) -> None:
        """A committed block: a quorum of distinct validators sealed it (Besu's commit-seal rule)."""
        number = header.block_number
        if self.tracker is None:
            raise InvalidBlock("QBFT rules are not bound to a chain")
        validators = self.tracker.validators_for(number)
        try:
            authors = seal_authors(header)
        except (InvalidExtraData, InvalidSignature) as exc:
            raise InvalidBlock(f"block #{number}: bad commit seal: {exc}") from exc
        if len(set(authors)) != len(authors):
            raise InvalidBlock(f"block #{number}: duplicate commit seals")
        strangers = [a for a in authors if a not in validators]
        if strangers:
            raise InvalidBlock(f"block #{number}: seal by non-validator 0x{strangers[0].hex()}")
        if len(authors) < quorum(len(validators)):
            raise InvalidBlock(
                f"block #{number}: {len(authors)} commit seals, quorum is {quorum(len(validators))}"
            )
