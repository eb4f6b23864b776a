"""A member's actions on the plan, as functions over a signing `Suite` (the CLI prints them; the
simulator can call them). Each checks what it can before sending, so a refusal costs nothing."""

from __future__ import annotations

import os
from pathlib import Path

from eth_utils import to_checksum_address

from consortium.client import ContractRefusal, Suite, vote_commitment
from consortium.evidence.bundle import Bundle
from consortium.evidence.client import EvidenceClient
from consortium.evidence.envelope import public_key_of
from consortium.evidence.readers import is_investigator, open_filed
from consortium.wallet.attestation import load_attestation
from consortium.wallet.votes import Vote, VoteBook
from consortium.wallet.words import CLAIM_WORDS, PlanError, day, explain


def _refuse(name: str, *args) -> PlanError:
    return PlanError(explain(ContractRefusal(name, args)))


# ---- membership ----


def join(suite: Suite, attestation_path: str | Path, allowance: int | None = None) -> dict:
    """One transaction: join, and let the pool auto-debit shares up to `allowance` (default: the
    year cap, the most the plan may charge anyone in a year); 0 means pay each share by hand."""
    a, signature, meta = load_attestation(attestation_path)
    me = suite.address
    if a.member.lower() != me.lower():
        raise _refuse("AttestationForAnotherMember", a.member, me)
    if int(meta.get("chain_id", suite.tx.chain_id)) != suite.tx.chain_id:
        raise PlanError(
            f"this attestation is for chain {meta['chain_id']}, the node runs {suite.tx.chain_id}"
        )
    if allowance is None:
        allowance = suite.deployment.rules.year_cap
    receipt = suite.membership.join(a, signature, allowance)
    joined = suite.membership.in_receipt(receipt, "MemberJoined")[0]["args"]
    return {
        "member": me,
        "cover": joined["coverAmount"],
        "waiting_ends_at": joined["waitingEndsAt"],
        "cover_ends_at": joined["coverEndsAt"],
        "auto_debit_allowance": suite.pool.mandate_of(me),  # the mandate the pool recorded
        "tx": receipt["transactionHash"].hex(),
    }


def allow(suite: Suite, amount: int | None = None) -> dict:
    """Renew auto-debit: let the pool debit shares up to `amount` (default: the year cap). With
    joining, this is the member's one transaction a year."""
    amount = suite.deployment.rules.year_cap if amount is None else amount
    receipt = suite.pool.set_mandate(amount)
    return {"member": suite.address, "auto_debit_allowance": amount, "tx": receipt["transactionHash"].hex()}


def open_claim_of(suite: Suite, member: str) -> int | None:
    """The member's claim still under way (as Claims counts one open), if any."""
    recorded = suite.claims.open_claim_of(member)
    if not recorded:
        return None
    c = suite.claims.claim(recorded - 1)
    name = suite.claims.STATUSES[c.status]
    if name in ("UnderReview", "InNotice", "Disputed") or (name == "Rejected" and suite.now() < c.deadline):
        return recorded - 1
    return None


def status(suite: Suite, member: str) -> dict:
    m = suite.membership.member(member)
    state = suite.membership.state_of(member)
    rules = suite.deployment.rules
    pool = suite.pool
    closed = pool.open_period()
    owed = pool.owed(member)
    due_at = pool.period(closed - 1).dueAt if closed and owed else None
    return {
        "member": member,
        "state": state,
        "joined_at": m.joinedAt or None,
        "waiting_ends_at": m.joinedAt + rules.waiting_period if m.joinedAt else None,
        "cover": suite.membership.cover_amount_of(member),
        "cover_ends_at": m.coverEndsAt or None,
        "owed": owed,
        "owed_due_at": due_at,
        "credit": pool.credit(member),
        "overdue": pool.is_defaulter(member),
        "next_settlement_at": pool.period_end(closed),
        "balance": suite.token.balance_of(member),
        "auto_debit_allowance": pool.mandate_of(member),
        "open_claim": open_claim_of(suite, member),
        "now": suite.now(),
    }


def pay(suite: Suite) -> dict:
    """Pays every share owed from the member's balance (their own transaction: no allowance)."""
    me = suite.address
    owed = suite.pool.owed(me)
    if owed == 0:
        raise _refuse("NothingOwed", me)
    balance = suite.token.balance_of(me)
    if balance < owed:
        raise _refuse("ERC20InsufficientBalance", me, balance, owed)
    receipt = suite.pool.pay()
    return {"member": me, "paid": owed, "tx": receipt["transactionHash"].hex()}


def leave(suite: Suite, force: bool = False) -> dict:
    """Cover ends now; the member still shares the cases settled at this period's close."""
    me = suite.address
    open_claim = open_claim_of(suite, me)
    if open_claim is not None and not force:
        raise PlanError(
            f"you have an open claim (#{open_claim}): leaving now means it can never be paid "
            "(--force leaves anyway)"
        )
    closed = suite.pool.open_period()
    receipt = suite.membership.exit()
    return {
        "member": me,
        "shares_until": suite.pool.period_end(closed),
        "owed_now": suite.pool.owed(me),
        "tx": receipt["transactionHash"].hex(),
    }


# ---- claims and evidence ----


def seal_and_store(
    suite: Suite, evidence: EvidenceClient, reader_keys: list[bytes], paths: list[Path], kind: str
) -> tuple[Bundle, bytes]:
    """Hash the files into a root, seal them to the member and the readers, store them on the node."""
    if not paths:
        raise PlanError("give at least one --evidence FILE")
    try:
        bundle = Bundle.from_paths([Path(p) for p in paths], kind)
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    own = public_key_of(suite.tx.account.key)
    readers = [own] + [k for k in reader_keys if k != own]
    evidence.put(bundle.root, bundle.seal_for(readers), suite.tx.account.key)
    return bundle, bundle.root


def check_claim(suite: Suite, illness: int, accident: bool, force: bool = False) -> None:
    """Everything that would refuse this claim, before any evidence is sealed or stored."""
    me = suite.address
    suite.claims.submit(illness, accident, os.urandom(32), estimate=True)  # raises the refusal
    if not accident and not force and suite.membership.state_of(me) == "Waiting":
        waiting_ends = suite.membership.waiting_ends_at(me)
        raise PlanError(
            f"your waiting period ends on {day(waiting_ends)}: an illness claimed before then is "
            "refused and ends your membership (accidents are exempt; --force submits anyway)"
        )


def check_objection(suite: Suite, claim_id: int) -> None:
    suite.claims.object(claim_id, os.urandom(32), estimate=True)  # raises the refusal


def submit_claim(
    suite: Suite,
    evidence: EvidenceClient,
    reader_keys: list[bytes],
    illness: int,
    accident: bool,
    paths: list[Path],
    force: bool = False,
) -> dict:
    check_claim(suite, illness, accident, force)
    bundle, root = seal_and_store(suite, evidence, reader_keys, paths, "claim")
    receipt = suite.claims.submit_receipt(illness, accident, root)
    submitted = suite.claims.in_receipt(receipt, "ClaimSubmitted")[0]["args"]
    refused = suite.claims.in_receipt(receipt, "ClaimRefusedInWaitingPeriod")
    return {
        "claim_id": submitted["claimId"],
        "status": "RefusedInWaitingPeriod" if refused else "UnderReview",
        "amount": submitted["amount"],
        "evidence_root": "0x" + root.hex(),
        "files": sorted(bundle.files),
        "tx": receipt["transactionHash"].hex(),
    }


def claim_info(suite: Suite, claim_id: int) -> dict:
    c = suite.claims.claim(claim_id)
    status_name = suite.claims.STATUSES[c.status]
    info = {
        "claim_id": claim_id,
        "claimant": c.claimant,
        "status": status_name,
        "meaning": CLAIM_WORDS.get(status_name, status_name),
        "illness": c.illness,
        "accident": c.accident,
        "amount": c.amount,
        "submitted_at": c.submittedAt,
        "deadline": c.deadline or None,
        "evidence_root": "0x" + bytes(c.evidenceRoot).hex(),
        "report_hash": "0x" + bytes(c.reportHash).hex() if any(c.reportHash) else None,
    }
    case = suite.jury.case(claim_id)
    if int(case.claimant, 16):
        info["jury"] = {
            "commit_ends_at": case.commitEndsAt,
            "reveal_ends_at": case.revealEndsAt,
            "in_favour": case.inFavour,
            "against": case.against,
            "extended": case.extended,
            "closed": case.closed,
        }
    if status_name == "Accepted":
        paid = [
            e["args"]
            for e in suite.pool.events("ClaimantPaid", from_block=suite.deployment.block, claimId=claim_id)
        ]
        info["paid"] = sum(p["amount"] for p in paid)
        if info["paid"] == c.amount:
            info["meaning"] = "accepted and paid in full"
    return info


def dispute(suite: Suite, claim_id: int) -> dict:
    receipt = suite.claims.dispute(claim_id)
    case = suite.jury.case(claim_id)
    return {
        "claim_id": claim_id,
        "commit_ends_at": case.commitEndsAt,
        "reveal_ends_at": case.revealEndsAt,
        "tx": receipt["transactionHash"].hex(),
    }


def read_evidence(
    suite: Suite, evidence: EvidenceClient, claim_id: int, kind: str | None = None
) -> tuple[Bundle, list[str]]:
    """Decrypt the claim's evidence with this account's key and check it against the chain: the
    claimant's own envelope, or an investigator's jury copy, whichever matches the root."""
    claim = suite.claims.claim(claim_id)
    root, claimant = bytes(claim.evidenceRoot), to_checksum_address(claim.claimant)
    investigator = is_investigator(suite)

    def filer(address: str) -> bool:
        if kind == "jury":
            return investigator(address)
        return address == claimant or (kind is None and investigator(address))

    bundle = open_filed(evidence, root, filer, suite.tx.account.key, kind)
    return bundle, bundle.check_against(root)


def claim_ids(contract, event: str, from_block: int) -> list[int]:
    """Each claim id named by an event, once, oldest first."""
    return list(dict.fromkeys(e["args"]["claimId"] for e in contract.events(event, from_block=from_block)))


def notices(suite: Suite) -> list[dict]:
    """Claims under public notice: what is paid and why, never who."""
    rows = []
    for claim_id in claim_ids(suite.claims, "ClaimApproved", suite.deployment.block):
        c = suite.claims.claim(claim_id)
        if suite.claims.STATUSES[c.status] != "InNotice":
            continue
        rows.append(
            {
                "claim_id": claim_id,
                "illness": c.illness,
                "accident": c.accident,
                "amount": c.amount,
                "evidence_root": "0x" + bytes(c.evidenceRoot).hex(),
                "notice_ends_at": c.deadline,
            }
        )
    return rows


def object_to(
    suite: Suite, evidence: EvidenceClient, reader_keys: list[bytes], claim_id: int, paths: list[Path]
) -> dict:
    check_objection(suite, claim_id)
    bundle, root = seal_and_store(suite, evidence, reader_keys, paths, "objection")
    receipt = suite.claims.object(claim_id, root)
    return {
        "claim_id": claim_id,
        "evidence_root": "0x" + root.hex(),
        "files": sorted(bundle.files),
        "tx": receipt["transactionHash"].hex(),
    }


# ---- jury ----


def jury_cases(suite: Suite, juror: str) -> list[dict]:
    """Open review-board cases, and where this account stands on each (may it vote, did it)."""
    now = suite.now()
    eligible_at = suite.jury.eligible_at(juror)
    active = suite.membership.is_active(juror)
    rows = []
    for claim_id in claim_ids(suite.jury, "CaseOpened", suite.deployment.block):
        case = suite.jury.case(claim_id)
        if case.closed:
            continue
        phase = "commit" if now < case.commitEndsAt else "reveal" if now < case.revealEndsAt else "closing"
        committed = any(suite.jury.commitment(claim_id, juror))
        if case.claimant == juror:
            may_vote = "no: your own claim"
        elif eligible_at == 0:
            may_vote = "no: not a qualified juror"
        elif eligible_at > case.commitEndsAt:
            may_vote = f"no: eligible from {day(eligible_at)}"
        elif not active:
            may_vote = "no: not an active member"
        else:
            may_vote = "yes"
        rows.append(
            {
                "claim_id": claim_id,
                "phase": phase,
                "commit_ends_at": case.commitEndsAt,
                "reveal_ends_at": case.revealEndsAt,
                "may_vote": may_vote,
                "committed": committed,
                "revealed": suite.jury.revealed(claim_id, juror),
            }
        )
    return rows


def commit_vote(suite: Suite, book: VoteBook, claim_id: int, in_favour: bool) -> dict:
    me = suite.address
    salt = os.urandom(32)
    commitment = vote_commitment(claim_id, me, in_favour, salt)
    # a double vote is refused at this dry run, before the kept salt could be replaced
    gas = suite.jury.commit_hash(claim_id, commitment, estimate=True)
    path = book.save(Vote(claim_id, me, in_favour, salt))
    receipt = suite.jury.commit_hash(claim_id, commitment, gas=gas)
    case = suite.jury.case(claim_id)
    return {
        "claim_id": claim_id,
        "salt_file": str(path),
        "reveal_from": case.commitEndsAt,
        "reveal_until": case.revealEndsAt,
        "tx": receipt["transactionHash"].hex(),
    }


def reveal_vote(
    suite: Suite, book: VoteBook, claim_id: int, in_favour: bool | None = None, salt: bytes | None = None
) -> dict:
    me = suite.address
    if in_favour is None or salt is None:
        kept = book.load(claim_id, me)
        in_favour = kept.in_favour if in_favour is None else in_favour
        salt = kept.salt if salt is None else salt
    receipt = suite.jury.reveal(claim_id, in_favour, salt)
    return {
        "claim_id": claim_id,
        "vote": "yes" if in_favour else "no",
        "tx": receipt["transactionHash"].hex(),
    }
