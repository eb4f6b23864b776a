"""Claim review by the investigators: the queue, the evidence (decrypted and checked against the
chain), the decision with a report hash, and the redacted copy sealed for a disputed case's jurors."""

from __future__ import annotations

from pathlib import Path

from eth_utils import keccak

from consortium.client import Batch, Suite, wait_all
from consortium.evidence.bundle import Bundle
from consortium.evidence.client import EvidenceClient
from consortium.evidence.envelope import public_key_of
from consortium.evidence.readers import account, open_filed
from consortium.evidence.redact import redact
from consortium.operator.jurors import eligible_jurors
from consortium.wallet.words import PlanError


def review_queue(suite: Suite) -> list[dict]:
    """Claims waiting for an investigator (new, or sent back by an objection)."""
    rows = []
    objections: dict[int, int] = {}
    for event in suite.claims.events("ClaimObjected", from_block=suite.deployment.block):
        objections[event["args"]["claimId"]] = objections.get(event["args"]["claimId"], 0) + 1
    for claim_id, c in enumerate(suite.claims.all()):
        if suite.claims.STATUSES[c.status] != "UnderReview":
            continue
        rows.append(
            {
                "claim_id": claim_id,
                "claimant": c.claimant,
                "illness": c.illness,
                "accident": c.accident,
                "amount": c.amount,
                "submitted_at": c.submittedAt,
                "objections": objections.get(claim_id, 0),
                "evidence_root": "0x" + bytes(c.evidenceRoot).hex(),
            }
        )
    return rows


def review_evidence(suite: Suite, evidence: EvidenceClient, claim_id: int) -> dict:
    """Decrypt the claim's evidence and every objection's with the investigator's key; check each
    against its root on chain. Returns {"claim": (bundle, problems), "objections": [...]}."""
    key = suite.tx.account.key
    claim = suite.claims.claim(claim_id)
    bundle = open_filed(evidence, bytes(claim.evidenceRoot), account(claim.claimant), key, "claim")
    found = {"claim": (bundle, bundle.check_against(bytes(claim.evidenceRoot))), "objections": []}
    for event in suite.claims.events("ClaimObjected", from_block=suite.deployment.block, claimId=claim_id):
        objection_root = bytes(event["args"]["evidenceHash"])
        objector = event["args"]["objector"]
        objection = open_filed(evidence, objection_root, account(objector), key, "objection")
        found["objections"].append((objector, objection, objection.check_against(objection_root)))
    return found


def decide(suite: Suite, claim_id: int, approve: bool, report: Path) -> dict:
    """Approve (public notice starts) or reject (the claimant may dispute) with the report's hash."""
    return decide_many(suite, [(claim_id, approve, report)])[0]


DECIDE_GAS = 100_000  # flat, sent without an estimate: an approval or rejection uses about 61,000


def decide_many(suite: Suite, decisions: list[tuple[int, bool, Path]], wait: bool = True) -> list:
    """Several decisions sent at once, with flat gas, and awaited together (one block for a day's
    reviews; a refusal is raised, named from its receipt); with wait=False, the pending
    transactions, for the caller to await with its others."""
    hashes = [keccak(Path(report).read_bytes()) for _, _, report in decisions]
    batch = Batch()
    for (claim_id, approve, _), h in zip(decisions, hashes, strict=True):
        decide_one = suite.claims.approve if approve else suite.claims.reject
        decide_one(claim_id, h, sender=batch.by(suite.tx), gas=DECIDE_GAS)
    pending = batch.send()
    if not wait:
        return pending
    receipts = wait_all(pending)
    out = []
    for (claim_id, approve, _), h, receipt in zip(decisions, hashes, receipts, strict=True):
        out.append(
            {
                "claim_id": claim_id,
                "decision": "approved" if approve else "rejected",
                "report_hash": "0x" + h.hex(),
                "deadline": suite.claims.claim(claim_id).deadline,
                "tx": receipt["transactionHash"].hex(),
            }
        )
    return out


def jury_copy(
    suite: Suite, evidence: EvidenceClient, claim_id: int, withhold: set[str] = frozenset()
) -> dict:
    """Seal the evidence, personal fields removed, for the jurors who may vote on a disputed case;
    filed under the claim's root next to the original."""
    c = suite.claims.claim(claim_id)
    if suite.claims.STATUSES[c.status] != "Disputed":
        raise PlanError(f"claim #{claim_id} is not disputed: only a disputed case has jurors")
    root = bytes(c.evidenceRoot)
    original = open_filed(evidence, root, account(c.claimant), suite.tx.account.key, "claim")
    problems = original.check_against(root)
    if problems:
        raise PlanError(f"the stored evidence does not match the chain: {'; '.join(problems)}")
    try:
        copy: Bundle = redact(original, set(withhold))
    except ValueError as exc:
        raise PlanError(str(exc)) from None
    jurors, skipped = eligible_jurors(suite, claim_id)
    if not jurors:
        raise PlanError(f"no juror can vote on claim #{claim_id} yet (none qualified long enough ago)")
    own = public_key_of(suite.tx.account.key)
    blob_id = evidence.put(root, copy.seal_for([own, *jurors.values()]), suite.tx.account.key)
    return {
        "claim_id": claim_id,
        "jurors": sorted(jurors),
        "skipped": skipped,
        "redacted": list(copy.redacted),
        "files": sorted(copy.files),
        "blob": blob_id,
    }
