"""QBFT messages byte for byte as Besu's payload and message-wrapper classes write them.

Besu's own tests (consensus/qbft-core .../messagewrappers/*Test.java) round-trip with random keys,
so the expected bytes here are built by a transcription of Besu's writeTo methods (kept apart from
node/qbft/messages.py) with fixed keys; deterministic (RFC 6979) signatures make them repeatable.
"""

from __future__ import annotations

import pytest
import rlp
from eth_hash.auto import keccak

from node.qbft import messages as m
from node.qbft.keys import Signer

KEY = Signer(b"\x07" * 32)
DIGEST = bytes(range(32))
BLOCK = [[b"\x01" * 4, b"header"], [], [], []]  # any RLP list stands in for the block here


def besu_signed(code: int, payload: list) -> list:
    """SignedData.writeTo: [payload, signature over keccak(rlp([code, payload]))]."""
    return [payload, KEY.sign(keccak(rlp.encode([code, payload])))]


def test_prepare_and_commit():
    prepare = m.Prepare.create(m.RoundId(1, 2), DIGEST, KEY)
    assert prepare.encode() == rlp.encode(besu_signed(0x13, [1, 2, DIGEST]))  # PreparePayload.writeTo
    seal = KEY.sign(b"\x99" * 32)
    commit = m.Commit.create(m.RoundId(300, 0), DIGEST, seal, KEY)
    assert commit.encode() == rlp.encode(besu_signed(0x14, [300, 0, DIGEST, seal]))  # CommitPayload
    back = m.decode(m.encode(commit))
    assert back.seal == seal and back.signed.rid == m.RoundId(300, 0) and back.signed.author == KEY.address


def test_round_change_prepared_and_not():
    prepare = m.Prepare.create(m.RoundId(5, 0), DIGEST, KEY)
    payload = m.RoundChangePayload.create(m.RoundId(5, 1), (0, DIGEST), KEY)
    rc = m.RoundChange(payload, rlp.encode(BLOCK), (prepare,))
    # RoundChangePayload.writeTo: [height, round, [prepared round, prepared hash]];
    # RoundChange.encode: [signed payload, block, null block access list, [prepares]]
    signed = besu_signed(0x15, [5, 1, [0, DIGEST]])
    assert rc.encode() == rlp.encode([signed, BLOCK, b"", [besu_signed(0x13, [5, 0, DIGEST])]])
    empty = m.RoundChange(m.RoundChangePayload.create(m.RoundId(5, 1), None, KEY))
    assert empty.encode() == rlp.encode([besu_signed(0x15, [5, 1, []]), [], b"", []])
    assert (
        m.decode(m.encode(rc)).payload.prepared == (0, DIGEST) and m.decode(m.encode(empty)).block_rlp is None
    )
    legacy = rlp.encode([besu_signed(0x15, [5, 1, []]), [], []])  # before Besu 26.1: no access list
    assert m.decode(bytes([0x15]) + legacy).author == KEY.address


def test_proposal_with_justification():
    rc = m.RoundChangePayload.create(m.RoundId(9, 1), (0, DIGEST), KEY)
    prepare = m.Prepare.create(m.RoundId(9, 0), DIGEST, KEY)
    proposal = m.Proposal.create(m.RoundId(9, 1), rlp.encode(BLOCK), KEY, (rc,), (prepare,))
    # ProposalPayload.writeTo: [height, round, block, null]; Proposal.encode: [signed, [[rcs], [prepares]]]
    expected = [
        besu_signed(0x12, [9, 1, BLOCK, b""]),
        [[besu_signed(0x15, [9, 1, [0, DIGEST]])], [besu_signed(0x13, [9, 0, DIGEST])]],
    ]
    assert proposal.encode() == rlp.encode(expected)
    back = m.decode(m.encode(proposal))
    assert back.block_rlp == rlp.encode(BLOCK) and back.round_changes[0].prepared == (0, DIGEST)
    legacy = rlp.encode([besu_signed(0x12, [9, 0, BLOCK]), [[], []]])  # a pre-26.1 proposal
    assert m.decode(bytes([0x12]) + legacy).rid == m.RoundId(9, 0)


def test_what_besu_would_not_accept_is_refused():
    high_s = besu_signed(0x13, [1, 0, DIGEST])
    sig = high_s[1]
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    flipped = sig[:32] + (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([sig[64] ^ 1])
    with pytest.raises(m.MalformedMessage, match="low s"):
        m.decode(bytes([0x13]) + rlp.encode([high_s[0], flipped]))  # the same signer, malleated
    with pytest.raises(m.MalformedMessage, match="access lists"):
        m.decode(bytes([0x12]) + rlp.encode([besu_signed(0x12, [9, 0, BLOCK, b"\x01"]), [[], []]]))
    with pytest.raises(m.MalformedMessage):
        m.decode(bytes([0x13]) + rlp.encode(besu_signed(0x13, [1, 2**32, DIGEST])))  # round over 4 bytes
