"""The round state machine with a recording environment: locks, justifications, the f+1 rule."""

from __future__ import annotations

import pytest
import rlp

from node.qbft import messages as m
from node.qbft.extradata import ExtraData, block_hash, seal_authors, seal_digest
from node.qbft.height import HeightEnvAPI, HeightManager, InvalidMessage
from node.qbft.keys import Signer
from node.qbft.signlog import Equivocation
from node.vm import BlockClass, HeaderClass

SIGNERS = sorted((Signer(bytes([i + 1]) * 32) for i in range(4)), key=lambda s: s.address)
VALIDATORS = tuple(s.address for s in SIGNERS)
PREVIOUS = b"\0" * 20  # genesis coinbase: proposer of round r is VALIDATORS[r]


def make_block(round_: int, timestamp: int = 1000, proposer: int | None = None):
    extra = ExtraData(VALIDATORS, None, round_).encode()
    coinbase = VALIDATORS[round_ % 4 if proposer is None else proposer]
    header = HeaderClass(
        difficulty=0, block_number=1, gas_limit=30_000_000, timestamp=timestamp, extra_data=extra,
        coinbase=coinbase,
    )  # fmt: skip
    return BlockClass(header, transactions=[], uncles=[], withdrawals=[])


class Env(HeightEnvAPI):
    def __init__(self, signer: Signer) -> None:
        self.signer = signer
        self.sent: list = []
        self.timers: list[int] = []
        self.committed: list = []
        self.signed: dict = {}

    def decode_block(self, block_rlp):
        return rlp.decode(block_rlp, sedes=BlockClass)

    def check_proposed_block(self, block, round_):
        pass

    def create_block(self, round_):
        return make_block(round_, timestamp=2000 + round_)

    def reround(self, block, round_):
        extra = ExtraData.decode(block.header.extra_data).with_round(round_)
        return block.copy(header=block.header.copy(extra_data=extra.encode()))

    def guard(self, height, round_, kind, digest):
        if self.signed.setdefault((height, round_, kind), digest) != digest:
            raise Equivocation(kind)

    def send(self, message):
        self.sent.append(message)

    def start_timer(self, round_):
        self.timers.append(round_)

    def commit(self, sealed_block):
        self.committed.append(sealed_block)

    def of(self, kind):
        return [x for x in self.sent if isinstance(x, kind)]


def manager(me: int = 0):
    env = Env(SIGNERS[me])
    hm = HeightManager(env, 1, VALIDATORS, PREVIOUS)
    hm.start()
    return env, hm


def proposal(round_: int, block=None, rcs=(), prepares=()):
    block = block or make_block(round_)
    return m.Proposal.create(m.RoundId(1, round_), rlp.encode(block), SIGNERS[round_ % 4], rcs, prepares)


def test_happy_path_prepare_commit_and_seals():
    env, hm = manager(me=1)
    p = proposal(0)
    hm.on_proposal(p)
    digest = block_hash(make_block(0).header)
    assert [x.digest for x in env.of(m.Prepare)] == [digest]
    for i in (0, 2):
        hm.on_prepare(m.Prepare.create(m.RoundId(1, 0), digest, SIGNERS[i]))
    (commit,) = env.of(m.Commit)
    assert hm.prepared is not None and hm.prepared.digest == digest
    seal_of = lambda i: SIGNERS[i].sign(seal_digest(make_block(0).header))  # noqa: E731
    hm.on_commit(m.Commit.create(m.RoundId(1, 0), digest, b"\x01" * 65, SIGNERS[2]))  # forged seal
    hm.on_commit(m.Commit.create(m.RoundId(1, 0), digest, seal_of(3), SIGNERS[3]))
    assert not env.committed  # the forged one does not count
    hm.on_commit(m.Commit.create(m.RoundId(1, 0), digest, seal_of(0), SIGNERS[0]))
    (sealed,) = env.committed
    assert sorted(seal_authors(sealed.header)) == sorted([VALIDATORS[1], VALIDATORS[3], VALIDATORS[0]])
    assert block_hash(sealed.header) == digest


def test_proposals_from_the_wrong_proposer_equivocations_and_non_validators_are_refused():
    env, hm = manager(me=1)
    wrong = m.Proposal.create(m.RoundId(1, 0), rlp.encode(make_block(0)), SIGNERS[2])
    with pytest.raises(InvalidMessage, match="not from its proposer"):
        hm.on_proposal(wrong)
    hm.on_proposal(proposal(0))
    with pytest.raises(InvalidMessage, match="equivocating"):
        hm.on_proposal(proposal(0, make_block(0, timestamp=1001)))
    stranger = Signer(b"\x99" * 32)
    with pytest.raises(InvalidMessage, match="not a validator"):
        hm.on_prepare(m.Prepare.create(m.RoundId(1, 0), b"\x11" * 32, stranger))
    assert len(env.of(m.Prepare)) == 1  # one prepare, for the first proposal only


def test_locked_block_is_reproposed_after_a_round_change():
    env, hm = manager(me=1)  # VALIDATORS[1] proposes round 1
    block0 = make_block(0)
    digest = block_hash(block0.header)
    hm.on_proposal(proposal(0, block0))
    for i in (0, 2):
        hm.on_prepare(m.Prepare.create(m.RoundId(1, 0), digest, SIGNERS[i]))
    assert hm.prepared is not None  # locked on block0, but commits never come
    hm.on_timeout(0)
    (rc,) = env.of(m.RoundChange)
    assert rc.rid.round == 1 and rc.payload.prepared == (0, digest)
    for i in (0, 3):  # two more round changes, not prepared: quorum of 3 for round 1
        hm.on_round_change(m.RoundChange(m.RoundChangePayload.create(m.RoundId(1, 1), None, SIGNERS[i])))
    (p1,) = env.of(m.Proposal)
    assert p1.rid.round == 1 and block_hash(env.decode_block(p1.block_rlp).header) == digest
    assert ExtraData.decode(env.decode_block(p1.block_rlp).header.extra_data).round == 1
    assert len(p1.round_changes) == 3 and len(p1.prepares) == 3

    # another validator accepts that justified proposal and jumps to round 1
    env2, hm2 = manager(me=2)
    hm2.on_proposal(m.decode(m.encode(p1)))
    assert hm2.round == 1 and env2.of(m.Prepare)[0].digest == digest


def test_unjustified_round_proposals_are_refused():
    env, hm = manager(me=2)
    with pytest.raises(InvalidMessage, match="not justified"):
        hm.on_proposal(proposal(1))  # no round-change certificate
    # a certificate that shows a prepared block, but the proposal carries another block
    digest = block_hash(make_block(0).header)
    prepares = tuple(m.Prepare.create(m.RoundId(1, 0), digest, SIGNERS[i]) for i in range(3))
    rcs = tuple(
        m.RoundChangePayload.create(m.RoundId(1, 1), (0, digest) if i == 0 else None, SIGNERS[i])
        for i in range(3)
    )
    with pytest.raises(InvalidMessage, match="not justified"):
        hm.on_proposal(proposal(1, make_block(1, timestamp=4242), rcs, prepares))
    # replayed prepares from another height do not make a certificate
    old = tuple(m.Prepare.create(m.RoundId(0, 0), digest, SIGNERS[i]) for i in range(3))
    with pytest.raises(InvalidMessage, match="not justified"):
        hm.on_proposal(proposal(1, env.reround(make_block(0), 1), rcs, old))
    hm.on_proposal(proposal(1, env.reround(make_block(0), 1), rcs, prepares))
    assert hm.round == 1 and env.of(m.Prepare)


def test_f_plus_one_round_changes_pull_a_lagging_validator_forward():
    env, hm = manager(me=0)
    rc = lambda i, r: m.RoundChange(m.RoundChangePayload.create(m.RoundId(1, r), None, SIGNERS[i]))  # noqa: E731
    hm.on_round_change(rc(1, 3))
    assert hm.round == 0  # one could be a liar
    hm.on_round_change(rc(2, 5))
    assert hm.round == 3  # f+1 = 2 are ahead: join the lowest of them
    assert env.of(m.RoundChange)[-1].rid.round == 3 and env.timers[-1] == 3
    with pytest.raises(InvalidMessage):
        hm.on_round_change(rc(1, 0))


def test_never_signs_two_blocks_in_one_round_even_after_restart():
    env, hm = manager(me=1)
    hm.on_proposal(proposal(0))
    # "restart": a fresh manager with the same (persisted) sign record sees another block
    hm2 = HeightManager(env, 1, VALIDATORS, PREVIOUS)
    hm2.on_proposal(proposal(0, make_block(0, timestamp=1001)))
    assert len(env.of(m.Prepare)) == 1


def test_header_rules_accept_a_reproposed_block_and_refuse_strangers():
    """A block locked in round 0 and re-proposed in round 1 keeps its builder as coinbase."""
    from node.errors import InvalidBlock
    from node.qbft.rules import QbftRules

    genesis = HeaderClass(difficulty=0, block_number=0, gas_limit=30_000_000, timestamp=1,
                          extra_data=ExtraData(VALIDATORS).encode())  # fmt: skip
    rules = QbftRules(epoch_length=100)
    rules.bind(type("Chain", (), {"get_header_by_number": lambda self, n: genesis if n == 0 else None})())
    env = Env(SIGNERS[0])
    reproposed = env.reround(make_block(0), 1)  # built by VALIDATORS[0], round 1's proposer is [1]
    rules.validate_header(reproposed.header, genesis)
    stranger = reproposed.header.copy(coinbase=b"\x55" * 20)
    with pytest.raises(InvalidBlock, match="coinbase is not a validator"):
        rules.validate_header(stranger, genesis)
    wrong_set = reproposed.header.copy(extra_data=ExtraData(VALIDATORS[:3], None, 1).encode())
    with pytest.raises(InvalidBlock, match="wrong validators"):
        rules.validate_header(wrong_set, genesis)
    with pytest.raises(InvalidBlock, match="quorum"):
        rules.verify_seals(reproposed.header)  # a proposal is not a committed block


def test_commits_for_a_round_we_timed_out_of_still_decide():
    env, hm = manager(me=1)
    block0 = make_block(0)
    digest = block_hash(block0.header)
    hm.on_proposal(proposal(0, block0))
    hm.on_timeout(0)  # we give up a little early; the others finish round 0
    assert hm.round == 1
    for i in (0, 2, 3):
        seal = SIGNERS[i].sign(seal_digest(block0.header))
        hm.on_commit(m.Commit.create(m.RoundId(1, 0), digest, seal, SIGNERS[i]))
    (sealed,) = env.committed
    assert block_hash(sealed.header) == digest and len(ExtraData.decode(sealed.header.extra_data).seals) == 3
