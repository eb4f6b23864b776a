"""Typed wrappers, one per contract of the suite. Each method is one contract action; reads return
named tuples, writes return the receipt (or a Pending with wait=False, the gas with estimate=True,
a batch's ticket with sender=) and raise ContractRefusal. Methods ending in `_each` read one view
for many members or claims in JSON-RPC batches."""

from __future__ import annotations

import os
from typing import Any

from consortium.client.bound import Bound
from consortium.client.signing import NO_MANDATE, Attestation, Mandate, vote_commitment


class Token(Bound):
    artifact = "SettlementToken"

    def mint(self, to: str, amount: int, **kw):
        return self.send("mint", to, amount, **kw)

    def mint_each(self, to: list[str], amount: int, **kw):
        return self.send("mintEach", to, amount, **kw)

    def burn(self, amount: int, **kw):
        return self.send("burn", amount, **kw)

    def transfer(self, to: str, amount: int, **kw):
        return self.send("transfer", to, amount, **kw)

    def approve(self, spender: str, amount: int, **kw):
        return self.send("approve", spender, amount, **kw)

    def balance_of(self, account: str) -> int:
        return self.call("balanceOf", account)

    def allowance(self, owner: str, spender: str) -> int:
        return self.call("allowance", owner, spender)

    def total_supply(self) -> int:
        return self.call("totalSupply")

    def balance_each(self, accounts: list[str]) -> list[int]:
        return self.read_each("balanceOf", [(a,) for a in accounts])


class Governor(Bound):
    artifact = "ConsortiumGovernor"

    def propose(self, target: str, data: bytes, description: str = "", value: int = 0, **kw):
        receipt = self.send("propose", target, value, data, description, **kw)
        return self.in_receipt(receipt, "ProposalCreated")[0]["args"]["id"]

    def approve(self, proposal_id: int, **kw):
        return self.send("approve", proposal_id, **kw)

    def execute(self, proposal_id: int, **kw):
        return self.send("execute", proposal_id, **kw)

    def organisations(self) -> list[str]:
        return self.call("organisations")

    def approvals(self, proposal_id: int) -> int:
        return self.call("approvals", proposal_id)

    def needed(self) -> int:
        """Approvals a proposal needs: a strict majority of the organisations."""
        return self.call("needed")

    def proposal(self, proposal_id: int):
        """(target, value, data, proposer, executed, expiresAt)."""
        return self.call("proposal", proposal_id)

    def proposal_lifetime(self) -> int:
        """Seconds a proposal made now may gather approvals and be executed."""
        return self.call("proposalLifetime")


class Membership(Bound):
    artifact = "Membership"
    STATES = ("None", "Waiting", "Active", "CoverExpired", "Exited", "Removed", "PaidOut",
              "EndedInWaitingPeriod", "CoverEnded")  # fmt: skip

    def join(self, a: Attestation, signature: bytes, mandate: int = 0, **kw):
        """The member's own join; the pool may auto-debit up to `mandate` fen (0: pay by hand)."""
        return self.send("join", a.as_tuple(), signature, mandate, **kw)

    def enroll_batch(self, items: list[tuple[Attestation, Mandate | None]], **kw):
        """The enroller's one transaction for many people (each with the mandate they signed off
        chain, or none): no member sends anything, and the enroller signs nothing but the
        transaction (the attestations' expiry does not apply)."""
        rows = []
        for a, m in items:
            m = m or NO_MANDATE
            member = a.as_tuple()[0]
            rows.append((member, a.tier, a.cover_ends_at, a.identity, m.limit, m.deadline, m.r, m.vs))
        return self.send("enrollBatch", rows, **kw)

    def exit(self, **kw):
        return self.send("exit", **kw)

    def end_cover(self, member: str, **kw):
        return self.send("endCover", member, **kw)

    def count(self) -> int:
        return self.call("memberCount")

    def state_of(self, member: str) -> str:
        return self.STATES[self.call("stateOf", member)]

    def is_active(self, member: str) -> bool:
        return self.call("isActive", member)

    def member(self, member: str):
        return self.call("memberOf", member)

    def member_each(self, members: list[str]) -> list:
        return self.read_each("memberOf", [(m,) for m in members])

    def identity_holder_each(self, identities: list[bytes]) -> list[str]:
        return self.read_each("identityHolder", [(i,) for i in identities])

    def waiting_ends_at(self, member: str) -> int:
        return self.call("waitingEndsAt", member)

    def cover_amount_of(self, member: str) -> int:
        return self.call("coverAmountOf", member)

    def attestation_digest(self, a: Attestation) -> bytes:
        return self.call("attestationDigest", a.as_tuple())

    def mandate_digest(self, member: str, limit: int, deadline: int) -> bytes:
        return self.call("mandateDigest", member, limit, deadline)


class Claims(Bound):
    artifact = "Claims"
    STATUSES = ("None", "UnderReview", "InNotice", "Rejected", "Disputed", "Accepted", "Denied",
                "RefusedInWaitingPeriod", "Lapsed")  # fmt: skip

    def submit(self, illness: int, accident: bool, evidence_root: bytes, **kw) -> int | Any:
        """The claim id once landed (what `submit_receipt` returns, decoded)."""
        receipt = self.submit_receipt(illness, accident, evidence_root, **kw)
        if not self.landed(kw):
            return receipt
        return self.in_receipt(receipt, "ClaimSubmitted")[0]["args"]["claimId"]

    def submit_receipt(self, illness: int, accident: bool, evidence_root: bytes, **kw):
        return self.send("submit", illness, accident, evidence_root, **kw)

    def approve(self, claim_id: int, report_hash: bytes, **kw):
        return self.send("approve", claim_id, report_hash, **kw)

    def reject(self, claim_id: int, report_hash: bytes, **kw):
        return self.send("reject", claim_id, report_hash, **kw)

    def object(self, claim_id: int, evidence_hash: bytes, **kw):
        return self.send("object", claim_id, evidence_hash, **kw)

    def finalize(self, claim_id: int, **kw):
        return self.send("finalize", claim_id, **kw)

    def dispute(self, claim_id: int, **kw):
        return self.send("dispute", claim_id, **kw)

    def resolve_dispute(self, claim_id: int, **kw):
        return self.send("resolveDispute", claim_id, **kw)

    def claim(self, claim_id: int):
        return self.call("claim", claim_id)

    def claim_each(self, claim_ids: list[int]) -> list:
        return self.read_each("claim", [(i,) for i in claim_ids])

    def all(self) -> list:
        """Every claim of the suite, by id."""
        return self.claim_each(list(range(self.count())))

    def has_objected(self, claim_id: int, member: str) -> bool:
        return self.call("hasObjected", claim_id, member)

    def open_claim_of(self, member: str) -> int:
        """1 + the id of the member's last claim that counted as open, or 0."""
        return self.call("openClaimOf", member)

    def is_investigator(self, account: str) -> bool:
        return self.has_role("INVESTIGATOR_ROLE", account)

    def status(self, claim_id: int) -> str:
        return self.STATUSES[self.claim(claim_id).status]

    def count(self) -> int:
        return self.call("claimCount")


class Jury(Bound):
    artifact = "Jury"

    def qualify(self, jurors: list[str], **kw):
        return self.send("qualify", jurors, **kw)

    def disqualify(self, juror: str, **kw):
        return self.send("disqualify", juror, **kw)

    def commit(self, claim_id: int, in_favour: bool, salt: bytes | None = None, **kw) -> bytes:
        """Commits a vote and returns the salt the juror must keep to reveal it."""
        salt = salt if salt is not None else os.urandom(32)
        self.commit_hash(claim_id, vote_commitment(claim_id, self.tx.address, in_favour, salt), **kw)
        return salt

    def commit_hash(self, claim_id: int, commitment: bytes, **kw):
        """Commits a commitment computed by the caller (`vote_commitment`)."""
        return self.send("commit", claim_id, commitment, **kw)

    def reveal(self, claim_id: int, in_favour: bool, salt: bytes, **kw):
        return self.send("reveal", claim_id, in_favour, salt, **kw)

    def case(self, claim_id: int):
        return self.call("caseOf", claim_id)

    def eligible_at(self, juror: str) -> int:
        """When a qualified juror may first vote; 0 if not qualified."""
        return self.call("eligibleAt", juror)

    def commitment(self, claim_id: int, juror: str) -> bytes:
        return self.call("commitments", claim_id, juror)

    def revealed(self, claim_id: int, juror: str) -> bool:
        return self.call("revealed", claim_id, juror)


class CostSharing(Bound):
    artifact = "CostSharing"

    def close_period(self, **kw):
        return self.send("closePeriod", **kw)

    def pay(self, **kw):
        return self.send("pay", **kw)

    def collect(self, members: list[str], ahead: int = 0, **kw):
        return self.send("collect", members, ahead, **kw)

    def prepay(self, amount: int, **kw):
        return self.send("prepay", amount, **kw)

    def set_mandate(self, limit: int, **kw):
        """The member's own auto-debit limit from now on, in fen (0 stops auto-debit)."""
        return self.send("setMandate", limit, **kw)

    def mandate_of(self, member: str) -> int:
        """Fen auto-debit may still take from the member (MAX_ALLOWANCE: no limit)."""
        return self.call("mandateOf", member)

    def mandate_each(self, members: list[str]) -> list[int]:
        return self.read_each("mandateOf", [(m,) for m in members])

    def refund(self, member: str, **kw):
        return self.send("refund", member, **kw)

    def remove_defaulter(self, member: str, **kw):
        return self.send("removeDefaulter", member, **kw)

    def remove_defaulters(self, members: list[str], **kw):
        return self.send("removeDefaulters", members, **kw)

    def disburse(self, max_payouts: int = 50, **kw):
        return self.send("disburse", max_payouts, **kw)

    def owed(self, member: str) -> int:
        return self.call("owed", member)

    def credit(self, member: str) -> int:
        return self.call("credit", member)

    def owed_by(self, members: list[str]) -> list[int]:
        return self.call("owedBy", members)

    def owed_each(self, members: list[str]) -> list[int]:
        return self.read_each("owed", [(m,) for m in members])

    def credit_each(self, members: list[str]) -> list[int]:
        return self.read_each("credit", [(m,) for m in members])

    def is_defaulter(self, member: str) -> bool:
        return self.call("isDefaulter", member)

    def is_defaulter_each(self, members: list[str]) -> list[bool]:
        return self.read_each("isDefaulter", [(m,) for m in members])

    def book(self):
        return self.call("book")

    def carry(self):
        return self.call("carry")

    def totals(self):
        return self.call("totals")

    def balance(self) -> int:
        return self.call("balance")

    def year_charged(self, plan_year: int) -> int:
        """What the closes of a plan-year charged each sharing member, against the year cap."""
        return self.call("yearCharged", plan_year)

    def period_end(self, period: int) -> int:
        return self.call("periodEnd", period)

    def open_period(self) -> int:
        return self.call("openPeriod")

    def period(self, p: int):
        return self.call("period", p)

    def period_each(self, periods: list[int]) -> list:
        return self.read_each("period", [(p,) for p in periods])

    def account(self, member: str):
        return self.call("accountOf", member)

    def account_each(self, members: list[str]) -> list:
        return self.read_each("accountOf", [(m,) for m in members])

    def member_each(self, members: list[str]) -> list:
        """Membership's records of these members, read where they are kept (Membership's own
        memberOf reads them here: one call instead of two each)."""
        return self.read_each("memberOf", [(m,) for m in members])

    def payout(self, i: int):
        return self.call("payout", i)

    def payout_count(self) -> int:
        return self.call("payoutCount")
