"""QBFT wire messages (Besu's QBFT/1 sub-protocol layout).

Each signed payload is RLP [payload, signature]; the signature is over
keccak(message_code || rlp(payload)), so a PREPARE can never be replayed as a COMMIT.

    PROPOSAL     0x12  [[[height, round], block], sig], [round-change payloads], [prepares]
    PREPARE      0x13  [[[height, round], digest], sig]
    COMMIT       0x14  [[[height, round], digest, seal], sig]
    ROUND_CHANGE 0x15  [[[height, round], prepared_round_or_empty, prepared_digest_or_empty], sig],
                       prepared block or empty, [prepares]
    NEW_BLOCK    0x20  a committed, sealed block (announcement for followers; not part of QBFT)

On the p2p "qbft" topic a message is one byte of code followed by the RLP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_hash.auto import keccak

from node.qbft.keys import InvalidSignature, Signer, recover

PROPOSAL = 0x12
PREPARE = 0x13
COMMIT = 0x14
ROUND_CHANGE = 0x15
NEW_BLOCK = 0x20

MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class MalformedMessage(ValueError):
    """Bytes that are not a well-formed, correctly signed QBFT message."""


def _int(raw: Any) -> int:
    if not isinstance(raw, bytes) or len(raw) > 8 or raw[:1] == b"\x00":
        raise MalformedMessage("expected a canonical integer")
    return int.from_bytes(raw, "big")


def _hash32(raw: Any) -> bytes:
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise MalformedMessage("expected a 32-byte hash")
    return raw


@dataclass(frozen=True, order=True)
class RoundId:
    height: int
    round: int

    def items(self) -> list[int]:
        return [self.height, self.round]

    @classmethod
    def parse(cls, raw: Any) -> RoundId:
        if not isinstance(raw, list) or len(raw) != 2:
            raise MalformedMessage("round identifier must be [height, round]")
        return cls(_int(raw[0]), _int(raw[1]))


@dataclass(frozen=True)
class Signed:
    """A signed payload: `fields` is the payload after the round identifier."""

    code: int
    rid: RoundId
    fields: tuple[Any, ...]
    signature: bytes
    author: bytes

    def payload_items(self) -> list[Any]:
        return [self.rid.items(), *self.fields]

    def items(self) -> list[Any]:
        return [self.payload_items(), self.signature]

    @staticmethod
    def digest(code: int, payload_items: list[Any]) -> bytes:
        return keccak(bytes([code]) + rlp.encode(payload_items))

    @classmethod
    def create(cls, code: int, rid: RoundId, fields: tuple[Any, ...], signer: Signer) -> Signed:
        fields = tuple(rlp.decode(rlp.encode(list(fields))))  # the form a receiver decodes (ints as bytes)
        signature = signer.sign(cls.digest(code, [rid.items(), *fields]))
        return cls(code, rid, fields, signature, signer.address)

    @classmethod
    def parse(cls, code: int, raw: Any, n_fields: int) -> Signed:
        if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], bytes):
            raise MalformedMessage("signed payload must be [payload, signature]")
        payload, signature = raw
        if not isinstance(payload, list) or len(payload) != 1 + n_fields:
            raise MalformedMessage(f"payload of message {code:#x} must have {1 + n_fields} items")
        rid = RoundId.parse(payload[0])
        try:
            author = recover(cls.digest(code, payload), signature)
        except InvalidSignature as exc:
            raise MalformedMessage(f"bad signature: {exc}") from exc
        return cls(code, rid, tuple(payload[1:]), signature, author)


# --- payload views -------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepare:
    signed: Signed

    @property
    def digest(self) -> bytes:
        return self.signed.fields[0]

    @classmethod
    def create(cls, rid: RoundId, digest: bytes, signer: Signer) -> Prepare:
        return cls(Signed.create(PREPARE, rid, (digest,), signer))

    @classmethod
    def parse(cls, raw: Any) -> Prepare:
        signed = Signed.parse(PREPARE, raw, 1)
        _hash32(signed.fields[0])
        return cls(signed)

    def encode(self) -> bytes:
        return rlp.encode(self.signed.items())


@dataclass(frozen=True)
class Commit:
    signed: Signed

    @property
    def digest(self) -> bytes:
        return self.signed.fields[0]

    @property
    def seal(self) -> bytes:
        return self.signed.fields[1]

    @classmethod
    def create(cls, rid: RoundId, digest: bytes, seal: bytes, signer: Signer) -> Commit:
        return cls(Signed.create(COMMIT, rid, (digest, seal), signer))

    @classmethod
    def parse(cls, raw: Any) -> Commit:
        signed = Signed.parse(COMMIT, raw, 2)
        _hash32(signed.fields[0])
        if not isinstance(signed.fields[1], bytes) or len(signed.fields[1]) != 65:
            raise MalformedMessage("commit seal must be 65 bytes")
        return cls(signed)

    def encode(self) -> bytes:
        return rlp.encode(self.signed.items())


@dataclass(frozen=True)
class RoundChangePayload:
    signed: Signed

    @property
    def prepared(self) -> tuple[int, bytes] | None:
        """(prepared round, prepared block hash) or None."""
        round_raw, digest = self.signed.fields
        if digest == b"":
            return None
        return _int(round_raw), digest

    @classmethod
    def create(cls, rid: RoundId, prepared: tuple[int, bytes] | None, signer: Signer) -> RoundChangePayload:
        fields = (b"", b"") if prepared is None else (prepared[0], prepared[1])
        return cls(Signed.create(ROUND_CHANGE, rid, fields, signer))

    @classmethod
    def parse(cls, raw: Any) -> RoundChangePayload:
        signed = Signed.parse(ROUND_CHANGE, raw, 2)
        round_raw, digest = signed.fields
        if digest != b"":
            _hash32(digest)
            if _int(round_raw) >= signed.rid.round:
                raise MalformedMessage("prepared round must be below the target round")
        elif round_raw != b"":
            raise MalformedMessage("prepared round without a prepared block")
        return cls(signed)


def _list(raw: Any, what: str) -> list[Any]:
    if not isinstance(raw, list):
        raise MalformedMessage(f"{what} must be a list")
    if len(raw) > 1024:
        raise MalformedMessage(f"too many {what}")
    return raw


def _block(raw: Any) -> bytes:
    if not isinstance(raw, list):
        raise MalformedMessage("block must be an RLP list")
    return rlp.encode(raw)


# --- full messages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    signed: Signed  # fields: (block as decoded RLP structure,)
    block_rlp: bytes
    round_changes: tuple[RoundChangePayload, ...] = ()
    prepares: tuple[Prepare, ...] = ()

    code = PROPOSAL

    @property
    def rid(self) -> RoundId:
        return self.signed.rid

    @property
    def author(self) -> bytes:
        return self.signed.author

    @classmethod
    def create(
        cls,
        rid: RoundId,
        block_rlp: bytes,
        signer: Signer,
        round_changes: tuple[RoundChangePayload, ...] = (),
        prepares: tuple[Prepare, ...] = (),
    ) -> Proposal:
        signed = Signed.create(PROPOSAL, rid, (rlp.decode(block_rlp),), signer)
        return cls(signed, block_rlp, tuple(round_changes), tuple(prepares))

    def encode(self) -> bytes:
        return rlp.encode(
            [
                self.signed.items(),
                [rc.signed.items() for rc in self.round_changes],
                [p.signed.items() for p in self.prepares],
            ]
        )

    @classmethod
    def parse(cls, raw: Any) -> Proposal:
        if not isinstance(raw, list) or len(raw) != 3:
            raise MalformedMessage("proposal must be [signed payload, round changes, prepares]")
        signed = Signed.parse(PROPOSAL, raw[0], 1)
        block_rlp = _block(signed.fields[0])
        rcs = tuple(RoundChangePayload.parse(r) for r in _list(raw[1], "round changes"))
        prepares = tuple(Prepare.parse(p) for p in _list(raw[2], "prepares"))
        return cls(signed, block_rlp, rcs, prepares)


@dataclass(frozen=True)
class RoundChange:
    payload: RoundChangePayload
    block_rlp: bytes | None = None  # the prepared block, when prepared
    prepares: tuple[Prepare, ...] = ()

    code = ROUND_CHANGE

    @property
    def signed(self) -> Signed:
        return self.payload.signed

    @property
    def rid(self) -> RoundId:
        return self.payload.signed.rid

    @property
    def author(self) -> bytes:
        return self.payload.signed.author

    def encode(self) -> bytes:
        block = rlp.decode(self.block_rlp) if self.block_rlp else b""
        return rlp.encode([self.payload.signed.items(), block, [p.signed.items() for p in self.prepares]])

    @classmethod
    def parse(cls, raw: Any) -> RoundChange:
        if not isinstance(raw, list) or len(raw) != 3:
            raise MalformedMessage("round change must be [signed payload, block, prepares]")
        payload = RoundChangePayload.parse(raw[0])
        block_rlp = None if raw[1] == b"" else _block(raw[1])
        prepares = tuple(Prepare.parse(p) for p in _list(raw[2], "prepares"))
        if (payload.prepared is None) != (block_rlp is None):
            raise MalformedMessage("a prepared round change carries its block, and only then")
        return cls(payload, block_rlp, prepares)


@dataclass(frozen=True)
class NewBlock:
    block_rlp: bytes
    code = NEW_BLOCK

    def encode(self) -> bytes:
        return self.block_rlp


Message = Proposal | Prepare | Commit | RoundChange | NewBlock


def rid_of(message: Message) -> RoundId:
    return message.signed.rid


def encode(message: Message) -> bytes:
    code = {
        Proposal: PROPOSAL,
        Prepare: PREPARE,
        Commit: COMMIT,
        RoundChange: ROUND_CHANGE,
        NewBlock: NEW_BLOCK,
    }[type(message)]
    return bytes([code]) + message.encode()


def decode(data: bytes) -> Message:
    """Parse and authenticate (recover every signer); raises MalformedMessage."""
    if not data or len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessage("empty or oversized message")
    code, body = data[0], data[1:]
    if code == NEW_BLOCK:
        return NewBlock(body)
    try:
        raw = rlp.decode(body)
    except Exception as exc:
        raise MalformedMessage(f"not RLP: {exc}") from exc
    if code == PROPOSAL:
        return Proposal.parse(raw)
    if code == PREPARE:
        return Prepare.parse(raw)
    if code == COMMIT:
        return Commit.parse(raw)
    if code == ROUND_CHANGE:
        return RoundChange.parse(raw)
    raise MalformedMessage(f"unknown message code {code:#x}")
