"""The juror registrar's side: qualify members who passed the exam, and find who may vote on a case."""

from __future__ import annotations

from eth_utils import is_address, to_checksum_address

from consortium.client import Suite
from consortium.client.tx import per_transaction, tx_gas_cap
from consortium.evidence.readers import member_public_key
from consortium.wallet.words import PlanError

QUALIFY_BATCH = per_transaction(60_000, 30_000, 200)  # jurors per qualify (a slot and an event each)


def qualify(suite: Suite, addresses: list[str]) -> dict:
    bad = [a for a in addresses if not is_address(a)]
    if bad:
        raise PlanError(f"not an account address: {', '.join(bad)}")
    jurors = [to_checksum_address(a) for a in addresses]
    size = per_transaction(60_000, 30_000, 200, tx_gas_cap(suite.w3))
    receipts = [suite.jury.qualify(jurors[i : i + size]) for i in range(0, len(jurors), size)]
    return {
        "jurors": jurors,
        "eligible_at": suite.jury.eligible_at(jurors[0]) if jurors else None,
        "tx": receipts[-1]["transactionHash"].hex() if receipts else None,
    }


def eligible_jurors(suite: Suite, claim_id: int) -> tuple[dict[str, bytes], dict[str, str]]:
    """({juror: public key} who may vote on the case, {juror: why not} for the others)."""
    case = suite.jury.case(claim_id)
    claimant = suite.claims.claim(claim_id).claimant
    keys, skipped = {}, {}
    seen = set()
    for event in suite.jury.events("JurorQualified", from_block=suite.deployment.block):
        juror = event["args"]["juror"]
        if juror in seen:
            continue
        seen.add(juror)
        eligible_at = suite.jury.eligible_at(juror)
        if juror == claimant:
            skipped[juror] = "the claimant"
        elif eligible_at == 0:
            skipped[juror] = "disqualified"
        elif eligible_at > case.commitEndsAt:
            skipped[juror] = "not eligible before the vote closes"
        elif not suite.membership.is_active(juror):
            skipped[juror] = "not an active member"
        else:
            public_key = member_public_key(suite, juror)
            if public_key is None:
                skipped[juror] = "no public key on chain (batch-enrolled, never sent a transaction)"
            else:
                keys[juror] = public_key
    return keys, skipped
