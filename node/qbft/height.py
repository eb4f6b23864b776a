"""The QBFT round state machine for one block height (Besu's QbftBlockHeightManager + QbftRound).

Pure protocol logic: it never touches sockets, disks or the EVM itself. Everything with a side
effect goes through `HeightEnvAPI` (the engine implements it), the rules a message must satisfy
are the pure functions of `node.qbft.validation`, and round changes are counted by the
`RoundChangeManager`; what is left here is the order of transitions:

Per round r (proposer = round-robin from the previous block's proposer):
  PROPOSAL from the proposer -> every validator executes the block, then sends PREPARE(digest)
  quorum PREPAREs            -> the block is prepared (our lock); send COMMIT(digest, seal)
  quorum COMMITs             -> the block with those seals is final: commit it (also when they
                                are for an earlier round that we already timed out of)
  round timer expires        -> ROUND-CHANGE(r+1, our prepared certificate, if any)
  f+1 ROUND-CHANGEs above us -> jump to the lowest of those rounds (we are behind)
  quorum ROUND-CHANGEs for r -> the proposer of r re-proposes the highest prepared block among
                                them (or a new block if none), justified by those round changes
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

import rlp

from node.qbft import validation as v
from node.qbft.extradata import ExtraData, block_hash, seal_digest
from node.qbft.keys import Signer
from node.qbft.messages import Commit, Prepare, Proposal, RoundChange, RoundChangePayload, RoundId
from node.qbft.round import PreparedCertificate, RoundState
from node.qbft.roundchange import RoundChangeManager, best_prepared
from node.qbft.signlog import Equivocation
from node.qbft.validation import InvalidMessage, NotNow
from node.qbft.validators import max_faulty, proposer_for, quorum

__all__ = ["HeightEnvAPI", "HeightManager", "InvalidMessage", "NotNow"]

log = logging.getLogger(__name__)


class HeightEnvAPI(ABC):
    """What a height manager needs from the world (implemented by the engine)."""

    signer: Signer

    @abstractmethod
    def decode_block(self, block_rlp: bytes) -> Any: ...

    @abstractmethod
    def check_proposed_block(self, block: Any, round_: int) -> None:
        """Execute and check a proposed block; raise InvalidMessage if it must not be prepared."""

    @abstractmethod
    def create_block(self, round_: int) -> Any | None:
        """Build a new block for this height (the proposer of a round without a prepared block)."""

    @abstractmethod
    def reround(self, block: Any, round_: int) -> Any:
        """The same block with extraData round set to `round_` (re-proposing a prepared block)."""

    @abstractmethod
    def guard(self, height: int, round_: int, kind: str, digest: bytes) -> None:
        """Durably record what we are about to sign; raise Equivocation if it contradicts."""

    def lock(self, height: int, certificate: PreparedCertificate) -> None:  # noqa: B027
        """Durably keep the prepared certificate (so a restart still carries it into round changes)."""

    @abstractmethod
    def send(self, message: Proposal | Prepare | Commit | RoundChange) -> None: ...

    @abstractmethod
    def start_timer(self, round_: int) -> None: ...

    @abstractmethod
    def commit(self, sealed_block: Any) -> None: ...


class HeightManager:
    def __init__(
        self,
        env: HeightEnvAPI,
        height: int,
        validators: tuple[bytes, ...],
        previous_proposer: bytes,
    ) -> None:
        self.env = env
        self.height = height
        self.validators = validators
        self.previous_proposer = previous_proposer
        self.quorum = quorum(len(validators))
        self.f = max_faulty(len(validators))
        self.me = env.signer.address
        self.round = 0
        self.rounds: dict[int, RoundState] = {}
        self.changes = RoundChangeManager(self.quorum, self.f)
        self.prepared: PreparedCertificate | None = None
        self.committed = False
        self._verified_seals: dict[int, set[bytes]] = {}

    # --- queries -------------------------------------------------------------------------

    @property
    def round_changes(self) -> dict[int, dict[bytes, RoundChange]]:
        """Round changes received, by target round and author."""
        return self.changes.by_round

    def proposer(self, round_: int) -> bytes:
        return proposer_for(self.validators, self.previous_proposer, round_)

    def is_proposer(self, round_: int) -> bool:
        return self.proposer(round_) == self.me

    def state(self, round_: int) -> RoundState:
        return self.rounds.setdefault(round_, RoundState(round_))

    def rid(self, round_: int | None = None) -> RoundId:
        return RoundId(self.height, self.round if round_ is None else round_)

    # --- inputs --------------------------------------------------------------------------

    def start(self) -> None:
        """Round 0 begins (the block timer expired)."""
        self.env.start_timer(0)
        self._progress()

    def on_block_timer_expiry(self) -> None:
        """Round 0 begins; its proposer builds and proposes a new block."""
        if self.committed or self.round != 0:
            return
        self.start()
        if self.is_proposer(0):
            block = self.env.create_block(0)
            if block is not None:
                self.propose(block)

    def propose(self, block: Any) -> None:
        """Round 0 (or a round without prepared block): our freshly built block."""
        r = self.round
        st = self.state(r)
        if self.committed or st.proposed or st.proposal is not None or not self.is_proposer(r):
            return
        self._send_proposal(block, (), ())

    def on_timeout(self, round_: int) -> None:
        if round_ == self.round and not self.committed:
            log.info("height %d round %d timed out", self.height, round_)
            self._start_round(round_ + 1, send_round_change=True)

    def on_proposal(self, p: Proposal) -> None:
        r = p.rid.round
        if self.committed or r < self.round:
            return
        v.check_proposer(p, self.proposer(r))
        st = self.state(r)
        block = self.env.decode_block(p.block_rlp)
        digest = block_hash(block.header)
        if st.proposal is not None:
            if st.digest != digest:
                raise InvalidMessage(f"equivocating proposal at height {self.height} round {r}")
            return
        v.check_justified(p, digest, self.validators, self.quorum)
        self.env.check_proposed_block(block, r)
        if r > self.round:
            self._start_round(r, send_round_change=False)
        self._accept(p, block, digest)

    def on_prepare(self, m: Prepare) -> None:
        v.check_author(m.signed.author, self.validators, self.height)
        r = m.signed.rid.round
        if self.committed or r < self.round:
            return
        self.state(r).prepares.setdefault(m.signed.author, m)
        if r == self.round:
            self._progress()

    def on_commit(self, m: Commit) -> None:
        v.check_author(m.signed.author, self.validators, self.height)
        r = m.signed.rid.round
        if self.committed:
            return
        st = self.state(r)
        st.commits.setdefault(m.signed.author, m)
        if r == self.round:
            self._progress()
        elif r < self.round and st.block is not None:
            # a quorum of seals on a block of an earlier round makes that block final all the same
            # (we timed out of the round a little before the others finished it)
            self._decide_if_sealed(st)

    def on_round_change(self, m: RoundChange) -> None:
        v.check_author(m.author, self.validators, self.height)
        if m.rid.round < 1:
            raise InvalidMessage("round change to round 0")
        if self.committed or m.rid.round < self.round:
            return

        def prepared_hash() -> bytes:  # decoded only once the certificate's signatures hold
            return block_hash(self.env.decode_block(m.block_rlp).header)

        v.check_round_change(m, prepared_hash, self.validators, self.quorum)
        self.changes.add(m)
        self._check_round_changes()

    # --- transitions ---------------------------------------------------------------------

    def _start_round(self, round_: int, send_round_change: bool) -> None:
        if round_ <= self.round and round_ != 0:
            return
        self.round = round_
        self.env.start_timer(round_)
        if send_round_change:
            pc = self.prepared
            payload = RoundChangePayload.create(
                self.rid(round_), (pc.round, pc.digest) if pc else None, self.env.signer
            )
            msg = RoundChange(payload, rlp.encode(pc.block) if pc else None, pc.prepares if pc else ())
            self.env.send(msg)
            self.changes.add_own(msg)
        self._check_round_changes()
        if self.round == round_:
            self._progress()

    def _check_round_changes(self) -> None:
        if self.committed:
            return
        target = self.changes.round_to_join(self.round)
        if target is not None:  # f+1 validators already in higher rounds: we are behind
            self._start_round(target, send_round_change=True)
            return
        r = self.round
        st = self.state(r)
        rcs = self.changes.quorum_for(r) if r > 0 else None
        if rcs and self.is_proposer(r) and not st.proposed and st.proposal is None:
            self._propose_after_round_change(rcs)

    def _propose_after_round_change(self, rcs: list[RoundChange]) -> None:
        r = self.round
        best = best_prepared(rcs)
        if best is not None:
            block = self.env.reround(self.env.decode_block(best.block_rlp), r)
            prepares = best.prepares
        else:
            block = self.env.create_block(r)
            prepares = ()
            if block is None:
                return
        self._send_proposal(block, tuple(rc.payload for rc in rcs), tuple(prepares))

    def _send_proposal(self, block: Any, rcs: tuple, prepares: tuple) -> None:
        r = self.round
        digest = block_hash(block.header)
        if not self._guard(r, "proposal", digest):
            return
        self.state(r).proposed = True
        p = Proposal.create(self.rid(r), rlp.encode(block), self.env.signer, rcs, prepares)
        self.env.send(p)
        self._accept(p, block, digest)

    def _guard(self, round_: int, kind: str, digest: bytes) -> bool:
        """May we sign this? (never two different digests of one kind in one round, even after a
        restart: the environment's sign log decides and records)."""
        try:
            self.env.guard(self.height, round_, kind, digest)
        except Equivocation as exc:
            log.warning("not signing the %s: %s", kind, exc)
            return False
        return True

    def _accept(self, p: Proposal, block: Any, digest: bytes) -> None:
        r = p.rid.round
        st = self.state(r)
        st.proposal, st.block, st.digest = p, block, digest
        # Executing the block took time we were not waiting for anyone: the round's timer starts
        # again from here, so a big block does not turn into a round change.
        self.env.start_timer(r)
        if not st.sent_prepare:
            if not self._guard(r, "prepare", digest):
                return
            st.sent_prepare = True
            prepare = Prepare.create(self.rid(r), digest, self.env.signer)
            st.prepares[self.me] = prepare
            self.env.send(prepare)
        self._progress()

    def _progress(self) -> None:
        r = self.round
        st = self.state(r)
        if self.committed or st.block is None:
            return
        if not st.sent_commit and len(st.matching_prepares()) >= self.quorum:
            self.prepared = PreparedCertificate(r, st.block, st.digest, tuple(st.matching_prepares()))
            self.env.lock(self.height, self.prepared)
            if self._guard(r, "commit", st.digest):
                st.sent_commit = True
                seal = self.env.signer.sign(seal_digest(st.block.header))
                commit = Commit.create(self.rid(r), st.digest, seal, self.env.signer)
                st.commits[self.me] = commit
                self.env.send(commit)
        self._decide_if_sealed(st)

    def _decide_if_sealed(self, st: RoundState) -> None:
        good = self._valid_commits(st)
        if len(good) >= self.quorum and not self.committed:
            self.committed = True
            extra = ExtraData.decode(st.block.header.extra_data)
            sealed = extra.with_seals(tuple(c.seal for c in good))
            header = st.block.header.copy(extra_data=sealed.encode())
            self.env.commit(st.block.copy(header=header))

    def _valid_commits(self, st: RoundState) -> list[Commit]:
        """Commits for the round's block whose seals verify (each verified once)."""
        verified = self._verified_seals.setdefault(st.round, set())
        digest = seal_digest(st.block.header) if len(verified) < len(st.commits) else b""
        good = []
        for author, c in list(st.commits.items()):
            if c.digest != st.digest:
                continue
            if author not in verified:
                if not v.seal_is_valid(digest, c):
                    del st.commits[author]  # a forged seal: drop it, let the author try again
                    continue
                verified.add(author)
            good.append(c)
        return good
