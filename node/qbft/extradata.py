"""Besu's QBFT header extraData and the two header hashes built from it.

extraData = RLP [vanity (32 bytes), [validator addresses], vote, round, [commit seals]]
where vote is [] or [recipient, 0xFF (add) | 0x80 (drop: an empty string)], as Besu's
QbftExtraDataCodec writes it; a drop written 0x00 (as older Hubao did) is read as a drop too.

- The block hash (what the chain and the next block's parent_hash use) is keccak of the header
  RLP with extraData re-encoded WITHOUT seals and with round 0: every validator gets the same
  hash whichever quorum of seals it collected, and a block re-proposed in a later round keeps it.
- The commit-seal digest is keccak of the header RLP with extraData WITHOUT seals but WITH the
  round: a seal binds a validator to one block in one round.
- The genesis block is hashed as it is (Besu's BftBlockHashing keeps block 0's extraData).

Decoding accepts what Besu's decoder accepts: any vanity, items after the seals (ignored, as
Besu's lenient leave of the list does), a round as a canonical scalar of up to 4 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import rlp
from eth_hash.auto import keccak

from node.qbft.keys import recover

VANITY_LENGTH = 32
VOTE_ADD = b"\xff"
VOTE_DROP = b""  # RLP 0x80, Besu's writeNull
VOTE_DROP_LEGACY = b"\x00"
# Besu and GoQuorum put "Istanbul" BFT's magic digest in mixHash.
BFT_MIX_HASH = bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")


class InvalidExtraData(ValueError):
    """extraData that is not a QBFT extraData."""


@dataclass(frozen=True)
class Vote:
    recipient: bytes  # 20-byte address
    add: bool


@dataclass(frozen=True)
class ExtraData:
    validators: tuple[bytes, ...]
    vote: Vote | None = None
    round: int = 0
    seals: tuple[bytes, ...] = ()
    vanity: bytes = field(default=b"\x00" * VANITY_LENGTH)

    def _items(self, with_round: bool, with_seals: bool) -> list[Any]:
        vote: list[bytes] = []
        if self.vote is not None:
            vote = [self.vote.recipient, VOTE_ADD if self.vote.add else VOTE_DROP]
        return [
            self.vanity,
            list(self.validators),
            vote,
            self.round if with_round else 0,
            list(self.seals) if with_seals else [],
        ]

    def encode(self) -> bytes:
        return rlp.encode(self._items(True, True))

    def encode_for_seal(self) -> bytes:
        return rlp.encode(self._items(True, False))

    def encode_for_hash(self) -> bytes:
        return rlp.encode(self._items(False, False))

    def with_seals(self, seals: tuple[bytes, ...]) -> ExtraData:
        return replace(self, seals=tuple(seals))

    def with_round(self, round_: int) -> ExtraData:
        return replace(self, round=round_, seals=())

    @classmethod
    def decode(cls, raw: bytes) -> ExtraData:
        try:
            items = rlp.decode(raw)
        except Exception as exc:
            raise InvalidExtraData(f"extraData is not RLP: {exc}") from exc
        if not isinstance(items, list) or len(items) < 5:
            raise InvalidExtraData("extraData must be an RLP list of 5 items")
        vanity, validators, vote, round_raw, seals = items[:5]
        if not isinstance(vanity, bytes):
            raise InvalidExtraData("vanity must be a byte string")
        if not isinstance(validators, list) or not all(
            isinstance(v, bytes) and len(v) == 20 for v in validators
        ):
            raise InvalidExtraData("validators must be a list of 20-byte addresses")
        if not isinstance(round_raw, bytes) or len(round_raw) > 4 or round_raw[:1] == b"\x00":
            raise InvalidExtraData("round must be a canonical 4-byte scalar")
        if not isinstance(seals, list) or not all(isinstance(s, bytes) and len(s) == 65 for s in seals):
            raise InvalidExtraData("seals must be 65-byte signatures")
        return cls(
            validators=tuple(validators),
            vote=_decode_vote(vote),
            round=int.from_bytes(round_raw, "big"),
            seals=tuple(seals),
            vanity=vanity,
        )


def _decode_vote(vote: Any) -> Vote | None:
    """[] (no vote) or [recipient, 0xFF | 0x80 | 0x00] (Besu reads an empty second item as a drop)."""
    if not isinstance(vote, list):
        raise InvalidExtraData("vote must be a list")
    if not vote:
        return None
    if len(vote) != 2 or not isinstance(vote[0], bytes) or len(vote[0]) != 20:
        raise InvalidExtraData("vote must be [address, type]")
    kind = vote[1]
    if kind == VOTE_ADD:
        return Vote(vote[0], True)
    if kind in (VOTE_DROP, VOTE_DROP_LEGACY, []):
        return Vote(vote[0], False)
    raise InvalidExtraData("vote type must be 0xFF (add) or 0x80 (drop)")


def _header_hash(header: Any, extra: bytes) -> bytes:
    return keccak(rlp.encode(header.copy(extra_data=extra)))


def block_hash(header: Any) -> bytes:
    """The QBFT block hash: the header without seals and round (Besu's on-chain hash); the genesis
    header as it is."""
    if header.block_number == 0:
        ExtraData.decode(header.extra_data)  # still a QBFT genesis: it names the validators
        return keccak(rlp.encode(header))
    return _header_hash(header, ExtraData.decode(header.extra_data).encode_for_hash())


def seal_digest(header: Any, extra: ExtraData | None = None) -> bytes:
    """What a commit seal signs: the header with its round but without seals."""
    extra = extra or ExtraData.decode(header.extra_data)
    return _header_hash(header, extra.encode_for_seal())


def seal_authors(header: Any) -> list[bytes]:
    """Recover each seal's author (raises InvalidSignature / InvalidExtraData)."""
    extra = ExtraData.decode(header.extra_data)
    digest = seal_digest(header, extra)
    return [recover(digest, seal) for seal in extra.seals]


def genesis_extra_data(validators: list[bytes]) -> bytes:
    """extraData for a genesis block (what `hubao net init` writes)."""
    return ExtraData(validators=tuple(validators)).encode()
