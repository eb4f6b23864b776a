"""QBFT wire messages in Besu's QBFT/1 layout (`consensus/qbft-core` payload and message classes).

A signed payload is Besu's SignedData: RLP [payload, signature], where the payload starts with the
height and round written flat and the 65-byte signature (r || s || v, v in {0, 1}, low s) is over
keccak(rlp([message code, payload])), so a PREPARE can never be replayed as a COMMIT.

    PROPOSAL     0x12  [[[height, round, block, 0x80], sig], [[round-change payloads], [prepares]]]
    PREPARE      0x13  [[height, round, digest], sig]
    COMMIT       0x14  [[height, round, digest, seal], sig]
    ROUND_CHANGE 0x15  [[[height, round, [] | [prepared round, prepared digest]], sig],
                        prepared block | [], 0x80, [prepares]]
    NEW_BLOCK    0x20  a committed, sealed block (announcement for followers; not part of QBFT)

The 0x80 items are Besu's absent block access list (written since Besu 26.1); messages without
them, as earlier Besu versions write them, are read too. On the p2p "qbft" topic a message is one
byte of code followed by the RLP: Besu's devp2p sub-protocol would carry the same code and bytes.
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
HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
NO_BLOCK_ACCESS_LIST = b""  # Besu's writeNull


class MalformedMessage(ValueError):
    """Bytes that are not a well-formed, correctly signed QBFT message."""


def _int(raw: Any, max_bytes: int = 8) -> int:
    if not isinstance(raw, bytes) or len(raw) > max_bytes or raw[:1] == b"\x00":
        raise MalformedMessage("expected a canonical integer")
    return int.from_bytes(raw, "big")


def _hash32(raw: Any) -> bytes:
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise MalformedMessage("expected a 32-byte hash")
    return raw


@dataclass(frozen=True, order=True)
class RoundId:
    """Besu's ConsensusRoundIdentifier: (sequence = block height, round)."""

    height: int
    round: int


@dataclass(frozen=True)
class Signed:
    """A signed payload: `fields` is the payload after height and round (as decoded RLP items)."""

    code: int
    rid: RoundId
    fields: tuple[Any, ...]
    signature: bytes
    author: bytes

    def payload_items(self) -> list[Any]:
        return [self.rid.height, self.rid.round, *self.fields]

    def items(self) -> list[Any]:
        return [self.payload_items(), self.signature]

    @staticmethod
    def digest(code: int, payload_items: list[Any]) -> bytes:
        """Besu's QbftPayload.hashForSignature: keccak(rlp([code, payload]))."""
        return keccak(rlp.encode([code, payload_items]))

    @classmethod
    def create(cls, code: int, rid: RoundId, fields: tuple[Any, ...], signer: Signer) -> Signed:
        fields = tuple(rlp.decode(rlp.encode(list(fields))))  # the form a receiver decodes (ints as bytes)
        signature = signer.sign(cls.digest(code, [rid.height, rid.round, *fields]))
        return cls(code, rid, fields, signature, signer.address)

    @classmethod
    def parse(cls, code: int, raw: Any, n_fields: tuple[int, ...]) -> Signed:
        if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], bytes):
            raise MalformedMessage("signed payload must be [payload, signature]")
        payload, signature = raw
        if not isinstance(payload, list) or len(payload) - 2 not in n_fields:
            raise MalformedMessage(f"payload of message {code:#x} has {len(payload)} items")
        rid = RoundId(_int(payload[0]), _int(payload[1], 4))
        if len(signature) != 65 or int.from_bytes(signature[32:64], "big") > HALF_CURVE_ORDER:
            raise MalformedMessage("signature must be 65 bytes with a low s")
        try:
            author = recover(cls.digest(code, payload), signature)
        except InvalidSignature as exc:
            raise MalformedMessage(f"bad signature: {exc}") from exc
        return cls(code, rid, tuple(payload[2:]), signature, author)


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
        signed = Signed.parse(PREPARE, raw, (1,))
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
        signed = Signed.parse(COMMIT, raw, (2,))
        _hash32(signed.fields[0])
        if not isinstance(signed.fields[1], bytes) or len(signed.fields[1]) != 65:
            raise MalformedMessage("commit seal must be 65 bytes")
        return cls(signed)

    def encode(self) -> bytes:
        return rlp.encode(self.signed.items())


@dataclass(frozen=True)
class RoundChangePayload:
    signed: Signed  # fields: ([] or [prepared round, prepared digest],): Besu's PreparedRoundMetadata

    @property
    def prepared(self) -> tuple[int, bytes] | None:
        """(prepared round, prepared block hash) or None."""
        (metadata,) = self.signed.fields
        if not metadata:
            return None
        return _int(metadata[0], 4), metadata[1]

    @classmethod
    def create(cls, rid: RoundId, prepared: tuple[int, bytes] | None, signer: Signer) -> RoundChangePayload:
        metadata = [] if prepared is None else [prepared[0], prepared[1]]
        return cls(Signed.create(ROUND_CHANGE, rid, (metadata,), signer))

    @classmethod
    def parse(cls, raw: Any) -> RoundChangePayload:
        signed = Signed.parse(ROUND_CHANGE, raw, (1,))
        (metadata,) = signed.fields
        if not isinstance(metadata, list) or len(metadata) not in (0, 2):
            raise MalformedMessage("prepared round metadata must be [] or [round, digest]")
        if metadata:
            _hash32(metadata[1])
            if _int(metadata[0], 4) >= signed.rid.round:
                raise MalformedMessage("prepared round must be below the target round")
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
    signed: Signed  # fields: (block as decoded RLP structure, absent block access list)
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
        signed = Signed.create(PROPOSAL, rid, (rlp.decode(block_rlp), NO_BLOCK_ACCESS_LIST), signer)
        return cls(signed, block_rlp, tuple(round_changes), tuple(prepares))

    def encode(self) -> bytes:
        justification = [
            [rc.signed.items() for rc in self.round_changes],
            [p.signed.items() for p in self.prepares],
        ]
        return rlp.encode([self.signed.items(), justification])

    @classmethod
    def parse(cls, raw: Any) -> Proposal:
        if not isinstance(raw, list) or len(raw) != 2:
            raise MalformedMessage("proposal must be [signed payload, [round changes, prepares]]")
        signed = Signed.parse(PROPOSAL, raw[0], (1, 2))
        if len(signed.fields) == 2 and signed.fields[1] != NO_BLOCK_ACCESS_LIST:
            raise MalformedMessage("block access lists are not supported")
        block_rlp = _block(signed.fields[0])
        justification = raw[1]
        if not isinstance(justification, list) or len(justification) != 2:
            raise MalformedMessage("proposal justification must be [round changes, prepares]")
        rcs = tuple(RoundChangePayload.parse(r) for r in _list(justification[0], "round changes"))
        prepares = tuple(Prepare.parse(p) for p in _list(justification[1], "prepares"))
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
        block = rlp.decode(self.block_rlp) if self.block_rlp else []
        prepares = [p.signed.items() for p in self.prepares]
        return rlp.encode([self.payload.signed.items(), block, NO_BLOCK_ACCESS_LIST, prepares])

    @classmethod
    def parse(cls, raw: Any) -> RoundChange:
        if not isinstance(raw, list) or len(raw) not in (3, 4):
            raise MalformedMessage("round change must be [signed payload, block, 0x80, prepares]")
        if len(raw) == 4 and raw[2] != NO_BLOCK_ACCESS_LIST:
            raise MalformedMessage("block access lists are not supported")
        payload = RoundChangePayload.parse(raw[0])
        block_rlp = None if raw[1] == [] else _block(raw[1])
        prepares = tuple(Prepare.parse(p) for p in _list(raw[-1], "prepares"))
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
