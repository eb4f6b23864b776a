"""QBFT extraData, block hash and commit-seal digest on Besu's vectors (QbftExtraDataCodecTest,
BftBlockHashingTest), including the drop vote Besu writes as [address, 0x80]."""

from __future__ import annotations

import pytest
import rlp
from eth.rlp.headers import BlockHeader
from eth_hash.auto import keccak

from node.qbft.extradata import ExtraData, InvalidExtraData, Vote, block_hash, seal_authors, seal_digest
from node.qbft.keys import Signer
from tests.besu.vectors import VECTORS, hexb, rlp_items

CODEC = VECTORS["extra_data"]
HASHING = VECTORS["block_hashing"]


def seal(r: int, s: int, v: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def test_known_raw_hex_decodes_and_encodes_byte_for_byte():
    known = CODEC["known_raw_hex"]
    raw = hexb(known["hex"])
    expected = ExtraData(
        validators=tuple(hexb(a) for a in known["validators"]),
        vote=Vote(hexb(known["vote"]["recipient"]), known["vote"]["add"]),
        round=known["round"],
        seals=(seal(1, 10, 0), seal(10, 1, 0)),
        vanity=bytes(range(1, 33)),
    )
    assert ExtraData.decode(raw) == expected
    assert expected.encode() == raw


def test_drop_vote_is_written_as_besu_writes_it_and_older_drops_still_read():
    items = rlp_items(CODEC["drop_vote"]["items"])
    besu_bytes = rlp.encode(items)
    assert b"\xd6\x94" + b"\0" * 19 + b"\x01\x80" in besu_bytes  # [address, 0x80]
    decoded = ExtraData.decode(besu_bytes)
    assert decoded.vote == Vote(b"\0" * 19 + b"\x01", False) and decoded.round == 0xFEDCBA
    assert decoded.encode() == besu_bytes
    legacy = rlp.encode([*items[:2], [items[2][0], b"\x00"], *items[3:]])  # Hubao before Besu's layout
    assert ExtraData.decode(legacy).vote == decoded.vote


def test_hash_encoding_writes_round_as_null_and_no_seals():
    extra = ExtraData((b"\0" * 19 + b"\x01",), Vote(b"\0" * 19 + b"\x01", True), 0xFEDCBA, (seal(1, 10, 0),))
    items = rlp.decode(extra.encode_for_hash())
    assert items[3] == b"" and items[4] == []  # writeNull, writeEmptyList
    assert rlp.decode(extra.encode_for_seal())[3:] == [b"\xfe\xdc\xba", []]


@pytest.mark.parametrize("case", ["leading_zero_round_items", "bad_vote_type_items"])
def test_what_besu_refuses_is_refused(case):
    with pytest.raises(InvalidExtraData):
        ExtraData.decode(rlp.encode(rlp_items(CODEC["refused"][case])))
    with pytest.raises(InvalidExtraData):
        ExtraData.decode(b"")


def _header(extra: bytes) -> BlockHeader:
    h = HASHING["header"]
    fields = {k: hexb(v) if isinstance(v, str) else v for k, v in h.items()}
    return BlockHeader(extra_data=extra, bloom=0, **fields)


def test_block_hash_and_commit_seal_digest_on_besu_block_hashing_inputs():
    """Besu's procedure, transcribed: the header RLP with extraData re-encoded without seals and with
    round 0 (writeNull) is hashed for the block hash; with the round for the seal digest."""
    validators = [hexb(a) for a in HASHING["validators"]]
    vote = [hexb(HASHING["vote"]["recipient"]), b"\xff"]
    vanity = hexb(HASHING["vanity"])
    for_seal = rlp.encode([vanity, validators, vote, HASHING["round"], []])
    for_hash = rlp.encode([vanity, validators, vote, b"", []])
    digest = keccak(rlp.encode(_header(for_seal)))
    signers = [Signer(k.to_bytes(32, "big")) for k in HASHING["committer_keys"]]
    seals = [s.sign(digest) for s in signers]
    sealed = _header(rlp.encode([vanity, validators, vote, HASHING["round"], seals]))

    assert block_hash(sealed) == keccak(rlp.encode(_header(for_hash)))
    assert seal_digest(sealed) == digest
    assert ["0x" + a.hex() for a in seal_authors(sealed)] == HASHING["committer_addresses"]
