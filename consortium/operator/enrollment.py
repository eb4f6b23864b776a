"""Enrollment: check a person is eligible, issue a signed attestation, keep the enroller's registry.

What goes on chain is only what the rules need: the tier (under 40, or 40 to 59, at joining) and
when the cover ends, which is the end of the month the person turns 60 (`cover_end`), so the
chain, which every organisation reads, never holds a member's date of birth; Membership refuses
any other cover end. The birth date itself stays with the enroller.

The registry holds one secret salt and the identity commitments keccak(salt || national id) the
enroller has attested, never an ID in clear. The same salt makes the same person give the same
commitment, so a second enrollment of one person is refused here (and, for whoever joined, by the
chain's one-identity-one-membership rule).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from eth_utils import is_address, to_checksum_address

from consortium.client import (
    TIER_40_TO_59,
    TIER_UNDER_40,
    Attestation,
    Batch,
    identity_commitment,
    sign_attestation,
    wait_all,
)
from consortium.client.tx import per_transaction, tx_gas_cap
from consortium.operator.settlement import members
from consortium.wallet.attestation import attestation_to_json
from consortium.wallet.words import PlanError, day
from node.files import atomic_write

MIN_AGE_DAYS = 30
MAX_AGE_YEARS = 60
YOUNGER_TIER_BELOW = 40
ATTESTATION_VALIDITY = 30 * 86_400


class Ineligible(PlanError):
    """The person may not join: why, in words."""


@dataclass(frozen=True)
class Applicant:
    member: str
    national_id: str
    birth_date: date
    health_ok: bool


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return date(born.year + years, 3, 1)


def _midnight(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def cover_end(born: date) -> int:
    """When cover ends for someone born on `born`: 00:00 UTC on the 1st of the month after the
    month of their 60th birthday (the birthday itself would put the birth date on chain)."""
    return _midnight(_next_month(_birthday(born, MAX_AGE_YEARS)))


def month_start(timestamp: int) -> int:
    """00:00 UTC on the 1st of the month `timestamp` falls in: the cover ends Membership accepts."""
    d = datetime.fromtimestamp(timestamp, UTC).date()
    return _midnight(d.replace(day=1))


def eligibility(applicant: Applicant, now: int) -> tuple[int, int]:
    """(tier, cover_ends_at) for an eligible person; raises Ineligible with the reason."""
    today = datetime.fromtimestamp(now, UTC).date()
    if (today - applicant.birth_date).days < MIN_AGE_DAYS:
        joinable = date.fromordinal(applicant.birth_date.toordinal() + MIN_AGE_DAYS)
        raise Ineligible(f"too young: the plan is open from 30 days of age (from {joinable})")
    sixty = _birthday(applicant.birth_date, MAX_AGE_YEARS)
    if today >= sixty:
        raise Ineligible(f"too old: the plan is open until age 60 (turned 60 on {sixty})")
    if not applicant.health_ok:
        raise Ineligible("the health declaration was not passed")
    forty = _birthday(applicant.birth_date, YOUNGER_TIER_BELOW)
    return (TIER_UNDER_40 if today < forty else TIER_40_TO_59), cover_end(applicant.birth_date)


class Registry:
    """The enroller's registry of identity commitments (a JSON file, rewritten atomically)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists():
            data = json.loads(self.path.read_text())
        else:
            data = {"salt": "0x" + os.urandom(32).hex(), "enrolled": {}}
        self.salt = bytes.fromhex(data["salt"][2:])
        self.enrolled: dict[str, dict] = data["enrolled"]

    def commitment(self, national_id: str) -> bytes:
        return identity_commitment(national_id.strip().upper(), self.salt)

    def holder(self, commitment: bytes) -> str | None:
        entry = self.enrolled.get("0x" + commitment.hex())
        return entry["member"] if entry else None

    def record(self, commitment: bytes, member: str, at: int, save: bool = True) -> None:
        self.enrolled["0x" + commitment.hex()] = {"member": member, "at": at}
        if save:
            self.save()

    def save(self) -> None:
        body = {"salt": "0x" + self.salt.hex(), "enrolled": self.enrolled}
        atomic_write(self.path, json.dumps(body, indent=1))


def enroll(suite, registry: Registry, applicant: Applicant, validity: int = ATTESTATION_VALIDITY) -> dict:
    """Check, sign and record; returns the attestation file's content. `suite` signs as an enroller."""
    result = enroll_many(suite, registry, [applicant], validity)[0]
    if isinstance(result, Ineligible):
        raise result
    return result


def enroll_many(
    suite,
    registry: Registry,
    applicants: list[Applicant],
    validity: int = ATTESTATION_VALIDITY,
    now: int | None = None,
) -> list[dict | Ineligible]:
    """Check, sign and record many people at once: per person an attestation file's content, or why
    they were refused. The chain is read in JSON-RPC batches and the registry written once, so a
    day's thousands of applicants take seconds. Ages and expiry count from `now` (default: the
    chain's latest block), so a simulator stepping through days attests as of its day."""
    now = suite.now() if now is None else now
    valid = [a for a in applicants if is_address(a.member)]
    commitments = [registry.commitment(a.national_id) for a in valid]
    holders = suite.membership.identity_holder_each(commitments)
    statuses = suite.pool.member_each([to_checksum_address(a.member) for a in valid])
    on_chain = iter(zip(commitments, holders, statuses, strict=True))
    results: list[dict | Ineligible] = []
    for applicant in applicants:
        try:
            if not is_address(applicant.member):
                raise Ineligible(f"{applicant.member!r} is not an account address")
            results.append(_attest(suite, registry, applicant, *next(on_chain), now, validity))
        except Ineligible as exc:
            results.append(exc)
    registry.save()
    return results


def _attest(suite, registry, applicant, commitment, holder_on_chain, member_record, now, validity) -> dict:
    """One applicant, given what the chain says of their identity and account."""
    member = to_checksum_address(applicant.member)
    tier, cover_ends_at = eligibility(applicant, now)
    holder_on_chain = to_checksum_address(holder_on_chain)
    if int(holder_on_chain, 16) != 0 and holder_on_chain != member:
        raise Ineligible(f"this person is already a member (account {holder_on_chain})")
    holder = registry.holder(commitment)
    if holder is not None and holder != member:
        raise Ineligible(f"this person is already enrolled (attested for account {holder})")
    if member_record.status != 0:
        raise Ineligible(f"account {member} already has a membership")
    a = Attestation(member, commitment, tier, cover_ends_at, now + validity)
    signature = sign_attestation(suite.tx.account.key, a, suite.tx.chain_id, suite.membership.address)
    registry.record(commitment, member, now, save=False)
    cover = (
        suite.deployment.rules.cover_under_40
        if tier == TIER_UNDER_40
        else suite.deployment.rules.cover_40_to_59
    )
    return attestation_to_json(a, signature, suite.tx.chain_id, suite.membership.address, cover)


def parse_health(value: str) -> bool:
    value = value.strip().lower()
    if value in {"pass", "passed", "yes", "ok", "true", "1"}:
        return True
    if value in {"fail", "failed", "no", "false", "0"}:
        return False
    raise Ineligible(f"health declaration must be pass or fail, not {value!r}")


def parse_birth_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Ineligible(f"birth date must be YYYY-MM-DD, not {value!r}") from None


def enroll_batch(suite, registry: Registry, csv_path: str | Path, out_dir: str | Path) -> list[dict]:
    """One row per person (member,national_id,birth_date,health); writes <out>/<member>.json for
    each eligible one and returns a line per row: issued, or refused and why. Nothing half-done."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    needed = {"member", "national_id", "birth_date", "health"}
    if rows and not needed <= set(rows[0]):
        raise PlanError(f"{csv_path} needs the columns {', '.join(sorted(needed))}")
    applicants: list[tuple[int, str, Applicant | Ineligible]] = []
    for line, row in enumerate(rows, start=2):
        try:
            applicant = Applicant(
                row["member"].strip(),
                row["national_id"],
                parse_birth_date(row["birth_date"]),
                parse_health(row["health"]),
            )
            applicants.append((line, applicant.member, applicant))
        except Ineligible as exc:
            applicants.append((line, row.get("member", ""), exc))
    to_check = [a for _, _, a in applicants if isinstance(a, Applicant)]
    checked = iter(enroll_many(suite, registry, to_check))
    for line, member, applicant in applicants:
        outcome = next(checked) if isinstance(applicant, Applicant) else applicant
        if isinstance(outcome, Ineligible):
            results.append({"line": line, "member": member, "issued": "", "refused": str(outcome)})
            continue
        path = out_dir / f"{outcome['attestation']['member']}.json"
        write_attestation(path, outcome)
        results.append({"line": line, "member": member, "issued": str(path), "refused": ""})
    return results


def write_attestation(path: str | Path, content: dict) -> None:
    atomic_write(path, json.dumps(content, indent=2) + "\n", mode=0o644)


def describe(content: dict) -> str:
    a = content["attestation"]
    return (
        f"attestation for {a['member']}: cover {content['cover'] // 100:,} RMB, "
        f"until {day(a['cover_ends_at'])}, join before {day(a['expiry'])}"
    )


ENROLL_GAS = 80_000  # sent without an estimate: a base and, per person, what an enrolment uses
ENROLL_GAS_PER_MEMBER = 110_000  # measured about 88,600 with a mandate (scripts/bench_gas.py)
ENROLL_CHUNK = per_transaction(ENROLL_GAS, ENROLL_GAS_PER_MEMBER, 100)  # people per enrollBatch


def enroll_signed(suite, items: list[tuple], wait: bool = True) -> list:
    """Put attested people on chain in the enroller's own transactions (`enrollBatch`), each with
    the auto-debit mandate they signed off chain: the members send nothing, and the enroller's
    transaction is its attestation. `items` are (Attestation, Mandate or None); sent in chunks at
    once, and awaited together (receipts), or with wait=False returned pending, one per chunk of
    ENROLL_CHUNK."""
    size = per_transaction(ENROLL_GAS, ENROLL_GAS_PER_MEMBER, 100, tx_gas_cap(suite.w3))
    batch = Batch()
    for i in range(0, len(items), size):
        c = items[i : i + size]
        gas = ENROLL_GAS + ENROLL_GAS_PER_MEMBER * len(c)
        suite.membership.enroll_batch(c, sender=batch.by(suite.tx), gas=gas)
    pending = batch.send()
    return wait_all(pending) if wait else pending


END_COVER_GAS = 250_000  # sent without an estimate, so many go out at once
IN_PLAN = 1  # Membership's MemberStatus.InPlan


def age_out(suite, who: list[str] | None = None, now: int | None = None, wait: bool = True) -> dict:
    """End the cover of members in the plan whose cover ended by `now` (they turned 60): anyone may,
    the operator does it as a routine. `who` defaults to everyone who ever joined. The endings are
    sent together; awaited together (`aged_out`, `failed`), or, with wait=False, returned pending
    in the order of `due` for the caller to await with its other transactions."""
    now = suite.now() if now is None else now
    who = members(suite) if who is None else who
    records = suite.pool.member_each(who)
    due = [m for m, r in zip(who, records, strict=True) if r.status == IN_PLAN and r.coverEndsAt <= now]
    batch = Batch()
    for m in due:
        suite.membership.end_cover(m, sender=batch.by(suite.tx), gas=END_COVER_GAS)
    pending = batch.send()
    if not wait:
        return {"due": due, "pending": pending}
    results = wait_all(pending, strict=False)
    return {
        "aged_out": [m for m, r in zip(due, results, strict=True) if not isinstance(r, Exception)],
        "failed": [
            {"member": m, "why": str(r)}
            for m, r in zip(due, results, strict=True)
            if isinstance(r, Exception)
        ],
    }
