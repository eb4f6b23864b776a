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

Reading a message costs the sender before it costs us: each code has its own size limit
(`MAX_BYTES`: a PREPARE or COMMIT is a few hundred bytes, only messages that carry a block may be
megabytes), the RLP is split into raw items without building anything inside them, and the outer
author is recovered from the payload's own bytes and shown to the caller's `admit` (is it a
validator of that height?) before the block or any embedded signature is touched. A block stays
bytes here; `block_items` bounds its RLP before anyone decodes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rlp
from eth_hash.auto import keccak

from node.qbft.keys import InvalidSignature, Signer, recover
from node.qbft.rawrlp import EMPTY_LIST, MalformedMessage, items, list_rlp, scalar, small

PROPOSAL = 0x12
PREPARE = 0x13
COMMIT = 0x14
ROUND_CHANGE = 0x15
NEW_BLOCK = 0x20

MAX_MESSAGE_BYTES = 8 * 1024 * 1024  # a message that carries a block
MAX_BYTES = {PREPARE: 512, COMMIT: 512, ROUND_CHANGE: MAX_MESSAGE_BYTES, PROPOSAL: MAX_MESSAGE_BYTES,
             NEW_BLOCK: MAX_MESSAGE_BYTES}  # fmt: skip
MAX_EMBEDDED = 1024  # signed payloads in one justification when the caller does not say
HALF_CURVE_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
NO_BLOCK_ACCESS_LIST = b""  # Besu's writeNull


def _int(raw: Any, max_bytes: int = 8) -> int:
    if not isinstance(raw, bytes) or len(raw) > max_bytes or raw[:1] == b"\x00":
        raise MalformedMessage("expected a canonical integer")
    return int.from_bytes(raw, "big")


def _hash32(raw: Any) -> bytes:
    if not isinstance(raw, bytes) or len(raw) != 32:
        raise MalformedMessage("expected a 32-byte hash")
    return raw


def _block(raw: bytes) -> bytes:
    if raw[:1] < b"\xc0":
        raise MalformedMessage("block must be an RLP list")
    return raw


@dataclass(frozen=True, order=True)
class RoundId:
    """Besu's ConsensusRoundIdentifier: (sequence = block height, round)."""

    height: int
    round: int


Admit = Callable[["Signed"], int]  # asked about the outer author; raises to refuse, else the cap


def _anyone(signed: Signed) -> int:
    return MAX_EMBEDDED


@dataclass(frozen=True)
class Signed:
    """A signed payload: `fields` is the payload after height and round (decoded RLP items; for a
    proposal the block's raw RLP, which is never decoded here)."""

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
    def from_raw(cls, code: int, raw: bytes, n_fields: tuple[int, ...], raw_block: bool = False) -> Signed:
        """Parse RLP [payload, signature]; the author is recovered over the payload's own bytes
        (canonical RLP, so they are the bytes the signer hashed). With `raw_block` the first field
        is a block, kept as raw RLP."""
        parts = items(raw)
        if len(parts) != 2:
            raise MalformedMessage("signed payload must be [payload, signature]")
        payload, signature = items(parts[0]), scalar(parts[1])
        if len(payload) - 2 not in n_fields:
            raise MalformedMessage(f"payload of message {code:#x} has {len(payload)} items")
        rid = RoundId(_int(scalar(payload[0])), _int(scalar(payload[1]), 4))
        if len(signature) != 65 or int.from_bytes(signature[32:64], "big") > HALF_CURVE_ORDER:
            raise MalformedMessage("signature must be 65 bytes with a low s")
        try:
            author = recover(keccak(list_rlp(rlp.encode(code), parts[0])), signature)
        except InvalidSignature as exc:
            raise MalformedMessage(f"bad signature: {exc}") from exc
        rest = payload[2:]
        fields = (_block(rest[0]), *map(small, rest[1:])) if raw_block else tuple(map(small, rest))
        return cls(code, rid, fields, signature, author)


def _embedded(raw: bytes, parse: Callable[[bytes], Any], cap: int, what: str) -> tuple:
    entries = items(raw)
    if len(entries) > cap:
        raise MalformedMessage(f"{len(entries)} {what}, more than {cap}")
    return tuple(parse(entry) for entry in entries)


# --- payload views -------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepare:
    signed: Signed
    code = PREPARE

    @property
    def digest(self) -> bytes:
        return self.signed.fields[0]

    @classmethod
    def create(cls, rid: RoundId, digest: bytes, signer: Signer) -> Prepare:
        return cls(Signed.create(PREPARE, rid, (digest,), signer))

    @classmethod
    def from_raw(cls, raw: bytes, admit: Admit = _anyone) -> Prepare:
        signed = Signed.from_raw(PREPARE, raw, (1,))
        _hash32(signed.fields[0])
        admit(signed)
        return cls(signed)

    @classmethod
    def parse(cls, structure: Any) -> Prepare:
        return cls.from_raw(rlp.encode(structure))

    def encode(self) -> bytes:
        return rlp.encode(self.signed.items())


@dataclass(frozen=True)
class Commit:
    signed: Signed
    code = COMMIT

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
    def from_raw(cls, raw: bytes, admit: Admit = _anyone) -> Commit:
        signed = Signed.from_raw(COMMIT, raw, (2,))
        _hash32(signed.fields[0])
        if not isinstance(signed.fields[1], bytes) or len(signed.fields[1]) != 65:
            raise MalformedMessage("commit seal must be 65 bytes")
        admit(signed)
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
    def from_raw(cls, raw: bytes) -> RoundChangePayload:
        signed = Signed.from_raw(ROUND_CHANGE, raw, (1,))
        (metadata,) = signed.fields
        if not isinstance(metadata, list) or len(metadata) not in (0, 2):
            raise MalformedMessage("prepared round metadata must be [] or [round, digest]")
        if metadata:
            _hash32(metadata[1])
            if _int(metadata[0], 4) >= signed.rid.round:
                raise MalformedMessage("prepared round must be below the target round")
        return cls(signed)


# --- full messages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    signed: Signed  # fields: (block as raw RLP, absent block access list)
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
        payload = list_rlp(
            rlp.encode(rid.height), rlp.encode(rid.round), block_rlp, rlp.encode(NO_BLOCK_ACCESS_LIST)
        )
        signature = signer.sign(keccak(list_rlp(rlp.encode(PROPOSAL), payload)))
        signed = Signed(PROPOSAL, rid, (block_rlp, NO_BLOCK_ACCESS_LIST), signature, signer.address)
        return cls(signed, block_rlp, tuple(round_changes), tuple(prepares))

    def encode(self) -> bytes:
        s = self.signed
        fields = (s.fields[0], *(rlp.encode(f) for f in s.fields[1:]))
        payload = list_rlp(rlp.encode(s.rid.height), rlp.encode(s.rid.round), *fields)
        justification = rlp.encode(
            [[rc.signed.items() for rc in self.round_changes], [p.signed.items() for p in self.prepares]]
        )
        return list_rlp(list_rlp(payload, rlp.encode(s.signature)), justification)

    @classmethod
    def from_raw(cls, raw: bytes, admit: Admit = _anyone) -> Proposal:
        parts = items(raw)
        if len(parts) != 2:
            raise MalformedMessage("proposal must be [signed payload, [round changes, prepares]]")
        signed = Signed.from_raw(PROPOSAL, parts[0], (1, 2), raw_block=True)
        if len(signed.fields) == 2 and signed.fields[1] != NO_BLOCK_ACCESS_LIST:
            raise MalformedMessage("block access lists are not supported")
        cap = admit(signed)
        justification = items(parts[1])
        if len(justification) != 2:
            raise MalformedMessage("proposal justification must be [round changes, prepares]")
        rcs = _embedded(justification[0], RoundChangePayload.from_raw, cap, "round changes")
        prepares = _embedded(justification[1], Prepare.from_raw, cap, "prepares")
        return cls(signed, signed.fields[0], rcs, prepares)


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
        prepares = rlp.encode([p.signed.items() for p in self.prepares])
        signed = rlp.encode(self.payload.signed.items())
        return list_rlp(signed, self.block_rlp or EMPTY_LIST, rlp.encode(NO_BLOCK_ACCESS_LIST), prepares)

    @classmethod
    def from_raw(cls, raw: bytes, admit: Admit = _anyone) -> RoundChange:
        parts = items(raw)
        if len(parts) not in (3, 4):
            raise MalformedMessage("round change must be [signed payload, block, 0x80, prepares]")
        if len(parts) == 4 and parts[2] != rlp.encode(NO_BLOCK_ACCESS_LIST):
            raise MalformedMessage("block access lists are not supported")
        payload = RoundChangePayload.from_raw(parts[0])
        cap = admit(payload.signed)
        block_rlp = None if parts[1] == EMPTY_LIST else _block(parts[1])
        if (payload.prepared is None) != (block_rlp is None):
            raise MalformedMessage("a prepared round change carries its block, and only then")
        prepares = _embedded(parts[-1], Prepare.from_raw, cap, "prepares")
        return cls(payload, block_rlp, prepares)


@dataclass(frozen=True)
class NewBlock:
    block_rlp: bytes
    code = NEW_BLOCK

    def encode(self) -> bytes:
        return self.block_rlp

    @property
    def header_rlp(self) -> bytes:
        """The block's header, still RLP (decode it, check its seals, before the body)."""
        parts = items(self.block_rlp)
        if not parts or parts[0][:1] < EMPTY_LIST:
            raise MalformedMessage("a block starts with its header")
        return parts[0]

    @property
    def number(self) -> int:
        """The block's number, read from the header's raw items (field 8)."""
        fields = items(self.header_rlp)
        if len(fields) < 9:
            raise MalformedMessage("header too short")
        return int.from_bytes(scalar(fields[8]), "big")


Message = Proposal | Prepare | Commit | RoundChange | NewBlock
PARSERS = {PROPOSAL: Proposal.from_raw, PREPARE: Prepare.from_raw, COMMIT: Commit.from_raw,
           ROUND_CHANGE: RoundChange.from_raw}  # fmt: skip


def encode(message: Message) -> bytes:
    return bytes([message.code]) + message.encode()


def decode(data: bytes, admit: Admit = _anyone) -> Message:
    """Parse and authenticate; raises MalformedMessage, or whatever `admit` raises. `admit(signed)`
    sees the outer signed payload as soon as its author is known, before the block or any embedded
    signature is read, and returns how many signed payloads a justification may carry."""
    if not data:
        raise MalformedMessage("empty message")
    code = data[0]
    if code not in MAX_BYTES:
        raise MalformedMessage(f"unknown message code {code:#x}")
    if len(data) > MAX_BYTES[code]:
        raise MalformedMessage(f"message {code:#x} of {len(data)} bytes, more than {MAX_BYTES[code]}")
    if code == NEW_BLOCK:
        return NewBlock(data[1:])
    return PARSERS[code](data[1:], admit)
