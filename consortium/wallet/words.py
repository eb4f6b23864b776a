"""Plain words for people: dates, money, and every refusal of the suite as a sentence a claimant
understands ("your waiting period ends on 2027-03-01"), never a custom error's name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from consortium.client import ContractRefusal
from consortium.client.errors import decode_revert
from consortium.client.money import rmb

STATUS_WORDS = {
    0: "not a member",
    1: "in the plan",
    2: "exited",
    3: "removed for an unpaid share",
    4: "paid out",
    5: "ended by an illness claimed in the waiting period",
    6: "ended at age 60",
}
CLAIM_WORDS = {
    "UnderReview": "under review by the investigators",
    "InNotice": "approved, under public notice",
    "Rejected": "rejected (the claimant may dispute it)",
    "Disputed": "disputed, before the review board",
    "Accepted": "accepted, payout queued",
    "Denied": "denied",
    "RefusedInWaitingPeriod": "refused: illness in the waiting period",
    "Lapsed": "lapsed (membership ended before the decision)",
}
CLAIM_STATUSES = ("None", *CLAIM_WORDS)


def day(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


def moment(ts: int) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(seconds: int) -> str:
    """A duration in the largest whole unit: '7 days', '1 hour', '90 seconds'."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _claim_state(status: int) -> str:
    name = CLAIM_STATUSES[status] if status < len(CLAIM_STATUSES) else str(status)
    return CLAIM_WORDS.get(name, name)


# every custom error of the suite a user can meet -> its sentence (args as decoded)
REFUSALS: dict[str, Callable[[tuple], str]] = {
    # joining
    "AttestationExpired": lambda a: (
        f"this attestation expired on {moment(a[0])}: ask the enroller for a new one"
    ),
    "NotSignedByEnroller": lambda a: "this attestation was not signed by one of the plan's enrollers",
    "AttestationForAnotherMember": lambda a: (
        f"this attestation was issued for {a[0]}, not for your account {a[1]}"
    ),
    "AlreadyAMember": lambda a: "this account already has a membership (one person, one membership)",
    "IdentityAlreadyUsed": lambda a: "this person is already enrolled under another account",
    "UnknownTier": lambda a: f"the attestation names an unknown coverage tier ({a[0]})",
    "CoverAlreadyEnded": lambda a: f"cover for this person ended on {day(a[0])} (age 60)",
    "CoverNotEnded": lambda a: f"cover runs until {day(a[0])}",
    # membership and claims
    "NotAMember": lambda a: "this account is not a member of the plan",
    "NotInPlan": lambda a: (
        "this account is not a member of the plan"
        if len(a) < 2 or a[1] == 0
        else f"this membership has ended: {STATUS_WORDS.get(a[1], a[1])}"
    ),
    "StillInWaitingPeriod": lambda a: f"your waiting period ends on {day(a[0])}",
    "CoverExpired": lambda a: f"your cover ended on {day(a[0])} (age 60)",
    "SharesOverdue": lambda a: "you have an overdue share: pay it first (`hubao wallet pay`)",
    "IllnessNotCovered": lambda a: f"illness code {a[0]} is not in the catalogue of 100 covered illnesses",
    "ClaimAlreadyOpen": lambda a: f"you already have an open claim (#{a[1]}); one claim at a time",
    "UnknownClaim": lambda a: f"there is no claim #{a[0]}",
    "WrongStatus": lambda a: f"claim #{a[0]} is {_claim_state(a[1])}, so this is not possible now",
    "NoticeNotOver": lambda a: f"the public notice runs until {moment(a[0])}",
    "NoticeOver": lambda a: f"the public notice ended on {moment(a[0])}",
    "NotTheClaimant": lambda a: "only the claimant can dispute this claim",
    "DisputeWindowClosed": lambda a: f"the time to dispute this decision ended on {moment(a[0])}",
    "ClaimantCannotObject": lambda a: "you cannot object to your own claim",
    "NotAnActiveMember": lambda a: "only members past their waiting period may object",
    "AlreadyObjected": lambda a: (
        f"you already objected to claim #{a[0]}: each member may object once per claim"
    ),
    # jury
    "NotAQualifiedJuror": lambda a: "this account has not qualified as a juror",
    "JurorNotYetEligible": lambda a: f"you may serve as a juror from {day(a[0])}",
    "JurorNotActiveMember": lambda a: "jurors must be active members of the plan",
    "ClaimantCannotVote": lambda a: "a claimant cannot vote on their own case",
    "UnknownCase": lambda a: f"claim #{a[0]} is not before the review board",
    "CaseClosed": lambda a: f"the vote on claim #{a[0]} is closed",
    "CaseAlreadyOpen": lambda a: f"the vote on claim #{a[0]} is already open",
    "CommitWindowClosed": lambda a: f"voting closed on {moment(a[0])}; reveal your vote now",
    "NotInRevealWindow": lambda a: f"votes are revealed between {moment(a[0])} and {moment(a[1])}",
    "AlreadyCommitted": lambda a: f"you already voted on claim #{a[0]}; a vote cannot be changed",
    "NothingCommitted": lambda a: f"you did not vote on claim #{a[0]}",
    "AlreadyRevealed": lambda a: f"you already revealed your vote on claim #{a[0]}",
    "NotACommitment": lambda a: "that is not a vote commitment (compute it with the wallet's `vote`)",
    "CommitmentMismatch": lambda a: (
        f"this reveal does not match the vote you committed on claim #{a[0]} (wrong vote or salt)"
    ),
    "VoteNotOver": lambda a: f"the vote runs until {moment(a[0])}",
    # paying
    "PeriodNotOver": lambda a: f"period {a[0]} ends on {moment(a[1])}",
    "NotADefaulter": lambda a: f"{a[0]} owes nothing overdue",
    "NothingOwed": lambda a: "you owe nothing",
    "NotSharing": lambda a: "this account does not share costs",
    "StillSharing": lambda a: f"{a[0]} still shares costs: unused credit is returned once they stop",
    "NoCredit": lambda a: f"{a[0]} has no unused credit to return",
    "ZeroAmount": lambda a: "the amount must be more than 0 fen",
    "AheadOverYearCap": lambda a: (
        f"members may be topped up at most {rmb(a[1])} ahead (the plan's year cap), not {rmb(a[0])}"
    ),
    "AlreadySharing": lambda a: "this account already shares costs",
    "ERC20InsufficientBalance": lambda a: f"not enough money: you hold {rmb(a[1])} and need {rmb(a[2])}",
    "ERC20InsufficientAllowance": lambda a: (
        f"{a[0]} may only spend {rmb(a[1])} of this holder's money and needs {rmb(a[2])}"
    ),
    "AccessControlUnauthorizedAccount": lambda a: f"account {a[0]} does not hold the role this needs",
    "AccessControlBadConfirmation": lambda a: "an account may renounce only its own role",
    "SafeERC20FailedOperation": lambda a: "the settlement token refused the transfer",
    "ZeroAddress": lambda a: "the zero address is nobody's account",
    "AlreadyConnected": lambda a: "the plan's contracts are wired together once, at deployment",
    "SafeCastOverflowedUintDowncast": lambda a: f"the amount is more than the plan's books hold ({a[0]} bit)",
    "MandateExpired": lambda a: (
        f"{a[0]}'s auto-debit mandate expired on {moment(a[1])}: they must sign a new one"
    ),
    "MandateNotSignedByMember": lambda a: (
        f"the auto-debit mandate for {a[0]} was signed by {a[1]}, not by them"
    ),
    # the consortium's votes
    "NotAnOrganisation": lambda a: f"{a[0]} is not one of the consortium's organisations",
    "UnknownProposal": lambda a: f"there is no proposal #{a[0]}",
    "OnlyByConsortiumVote": lambda a: "only a vote of the consortium's organisations can do this",
    "AlreadyAnOrganisation": lambda a: f"{a[0]} is already one of the consortium's organisations",
    "CannotRemoveLastOrganisation": lambda a: "the consortium's last organisation cannot be removed",
    "NoOrganisations": lambda a: "a consortium needs at least one organisation",
    "ProposalCallFailed": lambda a: (
        f"proposal #{a[0]} passed, but its call was refused: {explain(decode_revert(a[1]))}"
    ),
    "AlreadyApproved": lambda a: f"organisation {a[1]} already approved proposal #{a[0]}",
    "AlreadyExecuted": lambda a: f"proposal #{a[0]} was already carried out",
    "NoMajority": lambda a: f"proposal #{a[0]} has {a[1]} approval(s) and needs {a[2]}",
    "ProposalExpired": lambda a: (
        f"proposal #{a[0]} expired on {moment(a[1])} before it passed: propose it again"
    ),
    "LifetimeOutOfRange": lambda a: (
        f"a proposal may live from {_span(a[1])} to {_span(a[2])}, not {_span(a[0])}"
    ),
}


def _explain(name: str, a: tuple) -> str | None:
    make = REFUSALS.get(name)
    return make(a) if make else None


def explain(refusal: ContractRefusal) -> str:
    """One sentence for a refusal; an unknown one keeps its name so nothing is hidden."""
    try:
        words = _explain(refusal.name, refusal.args_)
    except (IndexError, TypeError, ValueError, OverflowError):
        words = None
    return words or f"the plan refused this: {refusal}"


class PlanError(Exception):
    """A refusal decided here, before anything is sent (the wallet checks what it can first)."""


def in_words(fn):
    """Every failure a user can meet becomes one line on stderr and exit code 1, never a traceback."""
    import functools
    import sys

    from web3.exceptions import Web3Exception

    from consortium.client import TransactionError
    from consortium.client.errors import as_refusal
    from consortium.cliutil import ChainUnavailable, err_console
    from consortium.evidence.envelope import CorruptEnvelope, NotAReader
    from consortium.evidence.readers import ReaderError
    from consortium.evidence.store import EvidenceError
    from consortium.wallet.keystore import KeystoreError

    plain = (
        PlanError,
        KeystoreError,
        ChainUnavailable,
        NotAReader,
        CorruptEnvelope,
        EvidenceError,
        ReaderError,
    )

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ContractRefusal as exc:
            message = explain(exc)
        except plain as exc:
            message = str(exc)
        except TransactionError as exc:
            message = f"the transaction failed: {exc}"
        except Web3Exception as exc:  # a read that reverted, or the node refused a transaction
            refusal = as_refusal(exc)
            if refusal is not None:
                message = explain(refusal)
            else:
                detail = exc.args[0] if exc.args else exc
                if isinstance(detail, dict):
                    detail = detail.get("message", detail)
                message = f"the node refused this: {detail}"
        except (ConnectionError, TimeoutError, OSError) as exc:
            message = f"could not reach the node: {exc.__class__.__name__}: {exc}"
        err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        sys.exit(1)

    return inner
