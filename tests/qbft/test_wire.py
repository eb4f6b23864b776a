"""Encoding and validation of QBFT messages, extraData, seals, votes and the sign log."""

from __future__ import annotations

import random

import pytest
import rlp

from node.qbft import messages as m
from node.qbft.extradata import ExtraData, InvalidExtraData, Vote, block_hash, seal_authors, seal_digest
from node.qbft.keys import Signer
from node.qbft.signlog import Equivocation, SignLog
from node.qbft.validators import Snapshot, ValidatorTracker, VoteProposer, proposer_for, quorum
from node.vm import HeaderClass

SIGNERS = [Signer(bytes([i + 1]) * 32) for i in range(4)]
VALIDATORS = tuple(sorted(s.address for s in SIGNERS))


def header(extra: ExtraData, number: int = 1, coinbase: bytes = b"\0" * 20):
    return HeaderClass(
        difficulty=0, block_number=number, gas_limit=30_000_000, timestamp=1000 + number,
        extra_data=extra.encode(), coinbase=coinbase,
    )  # fmt: skip


def test_messages_round_trip_and_authenticate():
    s = SIGNERS[0]
    rid = m.RoundId(7, 2)
    prepare = m.Prepare.create(rid, b"\x11" * 32, s)
    commit = m.Commit.create(rid, b"\x11" * 32, s.sign(b"\x22" * 32), s)
    rc_payload = m.RoundChangePayload.create(rid, (1, b"\x11" * 32), s)
    block_rlp = rlp.encode([[b"h"], [], []])
    rc = m.RoundChange(rc_payload, block_rlp, (prepare,))
    proposal = m.Proposal.create(rid, block_rlp, s, (rc_payload,), (prepare,))
    for msg in (prepare, commit, rc, proposal):
        back = m.decode(m.encode(msg))
        assert type(back) is type(msg) and back.signed.author == s.address and back.signed.rid == rid
    assert m.decode(m.encode(rc)).payload.prepared == (1, b"\x11" * 32)
    assert m.decode(m.encode(proposal)).block_rlp == block_rlp


def test_a_prepare_cannot_be_replayed_as_a_commit_or_tampered():
    s = SIGNERS[0]
    prepare = m.Prepare.create(m.RoundId(1, 0), b"\x11" * 32, s)
    wire = bytearray(m.encode(prepare))
    # same signed bytes under another message code: the signature covers the code
    payload, sig = rlp.decode(bytes(wire[1:]))
    as_commit = bytes([m.COMMIT]) + rlp.encode([[*payload, b"\x01" * 65], sig])
    assert m.decode(as_commit).signed.author != s.address
    wire[-70] ^= 1  # flip a bit of the digest: the recovered author changes
    assert m.decode(bytes(wire)).signed.author != s.address


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x13",
        b"\x13\xc0",
        b"\x99" + rlp.encode([]),
        b"\x13" + random.Random(13).randbytes(80),  # fixed garbage: the same test id on every xdist worker
        b"\x12" + rlp.encode([b"x"] * 3),
    ],
)
def test_garbage_is_one_clear_error(data):
    with pytest.raises(m.MalformedMessage):
        m.decode(data)


def test_extra_data_matches_besu_layout_and_hashes():
    extra = ExtraData(VALIDATORS, Vote(b"\x09" * 20, True), round=3)
    items = rlp.decode(extra.encode())
    assert items[0] == b"\0" * 32 and items[1] == list(VALIDATORS)
    assert items[2] == [b"\x09" * 20, b"\xff"] and items[3] == b"\x03" and items[4] == []
    assert ExtraData.decode(extra.encode()) == extra
    h = header(extra)
    sealed = h.copy(extra_data=extra.with_seals((SIGNERS[0].sign(seal_digest(h)),)).encode())
    rerounded = h.copy(extra_data=extra.with_round(5).encode())
    # the block hash ignores seals and round; the seal digest binds the round
    assert block_hash(h) == block_hash(sealed) == block_hash(rerounded)
    assert seal_digest(h) == seal_digest(sealed) != seal_digest(rerounded)
    assert seal_authors(sealed) == [SIGNERS[0].address]
    for bad in (b"", rlp.encode([b"x"]), rlp.encode([b"\0" * 32, [], [], b"\0\x01", []])):
        with pytest.raises(InvalidExtraData):
            ExtraData.decode(bad)


def test_quorum_and_round_robin_proposer():
    assert [quorum(n) for n in (1, 2, 3, 4, 5, 6, 7, 10)] == [1, 2, 2, 3, 4, 4, 5, 7]
    v = VALIDATORS
    assert proposer_for(v, b"\0" * 20, 0) == v[0]  # genesis: the first validator
    assert proposer_for(v, v[0], 0) == v[1] and proposer_for(v, v[0], 1) == v[2]
    assert proposer_for(v, v[3], 0) == v[0]
    assert proposer_for(v, b"\xff" * 20, 0) == v[0]  # a removed proposer: the next one after it


def test_votes_need_a_majority_and_epochs_reset():
    newcomer = b"\x77" * 20
    headers = {0: header(ExtraData(VALIDATORS), 0)}

    def add_block(number, proposer, vote):
        validators = tracker.validators_for(number)
        headers[number] = header(ExtraData(validators, vote), number, coinbase=proposer)

    tracker = ValidatorTracker(headers.get, epoch_length=6)
    add_block(1, VALIDATORS[0], Vote(newcomer, True))
    add_block(2, VALIDATORS[1], Vote(newcomer, True))
    assert newcomer not in tracker.validators_for(3)  # 2 of 4 is not a majority
    add_block(3, VALIDATORS[1], Vote(newcomer, True))  # the same voter twice counts once
    assert newcomer not in tracker.validators_for(4)
    add_block(4, VALIDATORS[2], Vote(newcomer, True))
    assert newcomer in tracker.validators_for(5) and len(tracker.validators_for(5)) == 5
    assert tracker.snapshot_after(4).votes == {}  # passed: its votes are dropped
    add_block(5, VALIDATORS[0], Vote(VALIDATORS[3], False))
    add_block(6, VALIDATORS[1], None)  # epoch: open votes are cleared
    assert tracker.snapshot_after(6).votes == {}
    snap = Snapshot(VALIDATORS)
    assert snap.apply(b"\x55" * 20, ExtraData(VALIDATORS, Vote(newcomer, True))).votes == {}  # non-validator


def test_vote_proposer_skips_useless_votes_and_drops_included():
    vp = VoteProposer()
    vp.propose(VALIDATORS[0], True)  # already a validator: nothing to do
    vp.propose(b"\x77" * 20, True)
    assert vp.choose(VALIDATORS) == (b"\x77" * 20, True)
    vp.included(b"\x77" * 20, True)
    assert vp.pending() == {VALIDATORS[0]: True} and vp.choose(VALIDATORS) is None
    assert vp.discard(VALIDATORS[0]) and vp.pending() == {}


def test_sign_log_refuses_a_second_block_for_one_round_across_restarts(tmp_path):
    path = str(tmp_path / "signed.log")
    log = SignLog(path)
    log.guard(5, 0, "prepare", b"\x01" * 32)
    log.guard(5, 0, "prepare", b"\x01" * 32)  # the same again is fine
    log.guard(5, 1, "prepare", b"\x02" * 32)  # another round is fine
    log.close()
    with open(path, "a") as fh:
        fh.write('{"h": 5, "r": 2, "k"')  # a torn write from a crash
    again = SignLog(path)
    with pytest.raises(Equivocation):
        again.guard(5, 0, "prepare", b"\x03" * 32)
    assert again.highest_round(5) == 1
    again.guard(6, 0, "commit", b"\x04" * 32)
    again.close()
    with pytest.raises(Equivocation):  # written after the torn line, still read back
        SignLog(path).guard(6, 0, "commit", b"\x05" * 32)


def test_round_change_manager_counts_one_per_author_and_finds_the_round_to_join():
    from node.qbft.roundchange import RoundChangeManager, best_prepared

    def rc(i, r, prepared=None):
        return m.RoundChange(m.RoundChangePayload.create(m.RoundId(1, r), prepared, SIGNERS[i]))

    rcm = RoundChangeManager(quorum(4), 1)
    rcm.add(rc(0, 2))
    rcm.add(rc(0, 2, (1, b"\x01" * 32)))  # a second one from the same author does not count
    assert rcm.round_to_join(0) is None and rcm.quorum_for(2) is None
    rcm.add(rc(1, 4))
    assert rcm.round_to_join(0) == 2 and rcm.round_to_join(2) is None  # f+1 = 2 are beyond us
    rcm.add(rc(1, 2, (0, b"\x02" * 32)))
    rcm.add(rc(2, 2, (1, b"\x03" * 32)))
    quorum_2 = rcm.quorum_for(2)
    assert len(quorum_2) == 3 and best_prepared(quorum_2).payload.prepared == (1, b"\x03" * 32)


def test_future_messages_are_bounded_per_author_and_past_heights_forgotten():
    from node.qbft.future import FutureMessages
    from node.qbft.limits import QbftLimits

    a, b = b"\xaa" * 20, b"\xbb" * 20
    limits = QbftLimits(future_messages_limit=8, future_messages_max_distance=10, future_messages_bytes=4000)
    future = FutureMessages(limits)
    for height in range(2, 14):
        future.add(1, height, a, "peer", bytes([height]), authors=2)
    assert future.count == 4  # a's share of 8 messages among 2 authors; 12 and 13 are too far ahead
    assert future.add(1, 12, b, "peer", b"x", authors=2) == "height 12 is more than 10 above our head #1"
    assert future.take(4) == [("peer", b"\x04")]  # and 2, 3 are forgotten
    assert future.count == 1
    # one author's flood fills only its share: the other still gets in
    refusals = [future.add(1, 6, a, "peer", b"y", authors=2) for _ in range(100)]
    assert refusals.count(None) == 3 and "has its share of the future buffer" in refusals[-1]
    assert future.add(1, 7, b, "honest", b"z", authors=2) is None
    # bytes: an author's share of them too (4000 / 2)
    assert "share" in future.add(1, 8, b, "honest", b"w" * 2000, authors=2)
    assert [d for _, d in future.take(7)] == [b"z"]


def test_vote_proposer_leaves_out_adds_the_allowlist_refuses_but_not_drops():
    vp = VoteProposer()
    vp.propose(b"\x77" * 20, True)
    vp.propose(VALIDATORS[0], False)
    allowed = {b"\x88" * 20}
    assert vp.choose(VALIDATORS, allowed.__contains__) == (VALIDATORS[0], False)
    vp.discard(VALIDATORS[0])
    assert vp.choose(VALIDATORS, allowed.__contains__) is None
