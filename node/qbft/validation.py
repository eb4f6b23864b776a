"""Pure validation of QBFT messages and proposed blocks (Besu's `qbft.core.validation`).

Every function here answers one question from its arguments alone: no clock, chain, network or
disk is read, so each rule is testable on its own and the round state machine only decides what
to do with the answers. A rule an honest peer can break by being out of step with us (a clock a
little ahead) raises `NotNow`; everything else raises `InvalidMessage` and costs the sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from node.qbft.extradata import ExtraData, InvalidExtraData
from node.qbft.keys import InvalidSignature, recover
from node.qbft.messages import Commit, Prepare, Proposal, RoundChange, RoundChangePayload, RoundId
from node.qbft.rules import HEADER_FIELDS


class InvalidMessage(ValueError):
    """A consensus message that breaks the protocol (wrong proposer, bad justification, ...)."""

    punish = True  # the author is misbehaving (not merely out of step with us)


class NotNow(InvalidMessage):
    """A message an honest peer could send (clock skew, a head we have not reached): refuse it, but
    do not punish the sender."""

    punish = False


# --- authors (Besu's ValidatorUtil / the validator check of every message validator) ------------


def check_author(author: bytes, validators: tuple[bytes, ...], height: int) -> None:
    if author not in validators:
        raise InvalidMessage(f"0x{author.hex()} is not a validator at height {height}")


def check_proposer(proposal: Proposal, proposer: bytes) -> None:
    if proposal.author != proposer:
        raise InvalidMessage(f"proposal for round {proposal.rid.round} not from its proposer")


# --- certificates (Besu's RoundChangePayloadValidator, ProposalValidator) ----------------------


def valid_prepares(
    rid: RoundId, digest: bytes, prepares: Iterable[Prepare], validators: tuple[bytes, ...], quorum: int
) -> bool:
    """A prepared certificate: a quorum of distinct validators prepared `digest` in `rid`."""
    authors = set()
    for p in prepares:
        s = p.signed
        if s.rid != rid or p.digest != digest or s.author not in validators:
            return False
        authors.add(s.author)
    return len(authors) >= quorum


def check_round_change(m: RoundChange, prepared_block_hash: Callable[[], bytes], validators, quorum) -> None:
    """A round change to a round above 0 whose prepared block (if any) carries a valid prepared
    certificate and is the one its payload names. The certificate's signatures are checked first:
    `prepared_block_hash()` (decoding `m`'s block) is only called once they hold."""
    if m.rid.round < 1:
        raise InvalidMessage("round change to round 0")
    prepared = m.payload.prepared
    if prepared is None:
        return
    rid = RoundId(m.rid.height, prepared[0])
    if not valid_prepares(rid, prepared[1], m.prepares, validators, quorum):
        raise InvalidMessage("round change's prepared certificate is invalid")
    if prepared_block_hash() != prepared[1]:
        raise InvalidMessage("round change's block does not match its prepared digest")


def _round_change_certificate(
    rid: RoundId, round_changes: Iterable[RoundChangePayload], validators: tuple[bytes, ...]
) -> tuple[set[bytes], list[tuple[int, bytes]]] | None:
    """Authors and prepared (round, digest) pairs of distinct validators' round changes to `rid`."""
    authors: set[bytes] = set()
    prepared: list[tuple[int, bytes]] = []
    for rc in round_changes:
        s = rc.signed
        if s.rid != rid or s.author not in validators or s.author in authors:
            return None
        authors.add(s.author)
        if rc.prepared is not None:
            prepared.append(rc.prepared)
    return authors, prepared


def justified(p: Proposal, digest: bytes, validators: tuple[bytes, ...], quorum: int) -> bool:
    """Round 0 needs no justification (and carries none). A later round needs a quorum of round
    changes to it; when any of them was prepared, the proposal must carry the block of the highest
    prepared round, with a valid prepared certificate for it."""
    rid = p.rid
    if rid.round == 0:
        return not p.round_changes and not p.prepares
    certificate = _round_change_certificate(rid, p.round_changes, validators)
    if certificate is None:
        return False
    authors, prepared = certificate
    if len(authors) < quorum:
        return False
    if not prepared:
        return True
    top = max(pr for pr, _ in prepared)
    if {d for pr, d in prepared if pr == top} != {digest}:
        return False
    return valid_prepares(RoundId(rid.height, top), digest, p.prepares, validators, quorum)


def check_justified(p: Proposal, digest: bytes, validators: tuple[bytes, ...], quorum: int) -> None:
    if not justified(p, digest, validators, quorum):
        raise InvalidMessage(f"proposal for round {p.rid.round} is not justified")


# --- commit seals (Besu's CommitValidator) ---------------------------------------------------


def seal_is_valid(seal_digest: bytes, commit: Commit) -> bool:
    """The commit's seal recovers to the commit's author over the block's seal digest."""
    try:
        return recover(seal_digest, commit.seal) == commit.signed.author
    except InvalidSignature:
        return False


# --- proposed blocks (Besu's ProposalPayloadValidator, minus execution) ------------------------


def check_proposed_header(header: Any, height: int, round_: int, now: float, tolerance: float) -> None:
    """The proposal's block is for `height`, its extraData names `round_` and carries no seals, and
    its timestamp is not further ahead of our clock than `tolerance` chain seconds."""
    try:
        extra = ExtraData.decode(header.extra_data)
    except InvalidExtraData as exc:
        raise InvalidMessage(str(exc)) from exc
    if header.block_number != height:
        raise InvalidMessage(f"proposal for block #{header.block_number}, expected #{height}")
    if extra.round != round_ or extra.seals:
        raise InvalidMessage("proposal's extraData round/seals do not match the proposal")
    if header.timestamp > now + tolerance:
        raise NotNow(f"proposal timestamp {header.timestamp} is in the future of our clock")


def first_forbidden_sender(block: Any, is_allowed: Any) -> Any | None:
    """The first transaction whose sender `is_allowed(sender)` refuses, or None."""
    for tx in block.transactions:
        if not is_allowed(tx.sender):
            return tx
    return None


def check_besu_header(header: Any, parent: Any, min_spacing: int) -> None:
    """Besu's QBFT header rules that the chain's own checks do not name: difficulty 1, the BFT
    mixHash, nonce 0 and a zero parent beacon root (ConstantFieldValidationRule, Besu's block
    creator) and a timestamp at least the block period after the parent's
    (TimestampMoreRecentThanParent)."""
    for name, expected in HEADER_FIELDS.items():
        if getattr(header, name) != expected:
            shown = "0x" + expected.hex() if isinstance(expected, bytes) else expected
            raise InvalidMessage(f"block #{header.block_number}: {name} must be {shown} (Besu's QBFT rule)")
    if header.timestamp < parent.timestamp + min_spacing:
        raise InvalidMessage(
            f"block #{header.block_number}: timestamp {header.timestamp} is less than {min_spacing} s "
            f"after its parent's {parent.timestamp}"
        )


def check_vote_allowed(header: Any, node_allowed: Any) -> None:
    """A vote to add a validator may only name a node on the node allowlist (`node_allowed(address)`
    answers for the state the block executes on). Votes to drop are always allowed: they are how a
    consortium removes the validator of an organisation it has removed."""
    try:
        vote = ExtraData.decode(header.extra_data).vote
    except InvalidExtraData as exc:
        raise InvalidMessage(str(exc)) from exc
    if vote is not None and vote.add and not node_allowed(vote.recipient):
        raise InvalidMessage(
            f"block #{header.block_number} votes to add 0x{vote.recipient.hex()}, "
            "which is not on the node allowlist"
        )
