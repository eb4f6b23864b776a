"""`hubao wallet`: the claimant's keys and their actions on the plan."""

from __future__ import annotations

import json
from pathlib import Path

import click

from consortium.cli_types import (
    CLAIM_ID,
    EVIDENCE,
    FEN,
    ILLNESS,
    Address,
    Bytes32,
    ExistingFile,
    Folder,
    OneOf,
    check_evidence,
)
from consortium.client.money import rmb
from consortium.cliutil import (
    OneLineGroup,
    Output,
    chain_options,
    connect,
    fail_on,
    json_option,
    password_option,
    read_password,
)
from consortium.wallet import plan
from consortium.wallet.keystore import DEFAULT_DIR, Keystore, KeystoreError
from consortium.wallet.words import PlanError, day, in_words, moment

STATE_WORDS = {
    "None": "not a member",
    "Waiting": "in the plan, waiting period (accidents covered)",
    "Active": "in the plan, covered",
    "CoverExpired": "cover ended at age 60",
    "Exited": "left the plan",
    "Removed": "removed for an unpaid share",
    "PaidOut": "paid out (membership ended)",
    "EndedInWaitingPeriod": "ended: illness claimed in the waiting period",
    "CoverEnded": "ended at age 60",
}


@click.group(cls=OneLineGroup)
@click.option(
    "--wallet-dir",
    type=Folder(),
    default=DEFAULT_DIR,
    show_default=True,
    envvar="HUBAO_WALLET",
    help="Folder of encrypted keystore files.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def wallet(ctx: click.Context, wallet_dir: Path, as_json: bool) -> None:
    """Keys and the member's actions: join, claim, pay, object, vote."""
    ctx.obj = {"keystore": Keystore(wallet_dir), "out": Output(as_json)}


@wallet.command()
@password_option
@click.option("--lightkdf", is_flag=True, help="Cheaper scrypt (as geth's --lightkdf): test keys only.")
@click.pass_obj
@fail_on(KeystoreError)
def new(obj: dict, password_file: Path | None, lightkdf: bool) -> None:
    """Create a new key, encrypted with a password (scrypt)."""
    key = obj["keystore"].create(read_password(password_file, confirm=True), light=lightkdf)
    obj["out"].result({"address": key.address, "keyfile": str(key.path)}, f"new key {key.address}")


@wallet.command("import")
@click.argument("source", type=ExistingFile("an existing keystore file"))
@password_option
@click.pass_obj
@fail_on(KeystoreError)
def import_(obj: dict, source: Path, password_file: Path | None) -> None:
    """Import a keystore file from geth, MetaMask or another Hubao wallet."""
    key = obj["keystore"].import_file(source, read_password(password_file))
    obj["out"].result({"address": key.address, "keyfile": str(key.path)}, f"imported {key.address}")


@wallet.command("list")
@click.pass_obj
def list_(obj: dict) -> None:
    """The keys in this wallet."""
    keys = obj["keystore"].keys()
    obj["out"].table(
        "Keys", ["address", "keyfile"], [[k.address, str(k.path)] for k in keys], empty="no keys yet"
    )


account_option = click.option("--account", type=Address(), help="Which key, when the wallet holds several.")


@wallet.command()
@account_option
@click.pass_obj
@fail_on(KeystoreError)
def address(obj: dict, account: str | None) -> None:
    """The address of the wallet's key."""
    key = obj["keystore"].find(account)
    obj["out"].result({"address": key.address}, key.address)


# ---- the member's actions on the plan ----


def plan_command(group, name: str | None = None, sign: bool = True):
    """A command on the chain: --rpc, --deployment, --account (and --password-file when it signs)."""

    def wrap(fn):
        fn = in_words(fn)
        fn = account_option(fn)
        if sign:
            fn = password_option(fn)
        fn = chain_options(json_option(fn))
        fn = click.pass_obj(fn)
        return group.command(name)(fn)

    return wrap


def session(obj: dict, rpc: str, deployment_path: Path, account: str | None, password_file=None, sign=True):
    """(suite, address): a signing suite after one unlock, or a read-only one with the key's address."""
    from consortium.client import Suite

    w3, deployment = connect(rpc, deployment_path)
    if not sign:
        return Suite(w3, deployment), obj["keystore"].find(account).address
    address, key = obj["keystore"].unlock(account, read_password(password_file))
    return Suite(w3, deployment, key), address


def evidence_of(suite, deployment_path: Path):
    from consortium.evidence.client import EvidenceClient
    from consortium.evidence.readers import investigator_keys

    return EvidenceClient(suite.w3), investigator_keys(deployment_path, suite)


def _files(evidence: tuple[Path, ...], extra: tuple[Path, ...]) -> list[Path]:
    """Every evidence file given, checked as a whole before anything is unlocked or sent."""
    return check_evidence([*evidence, *extra])


evidence_files = click.option(
    "--evidence",
    multiple=True,
    type=EVIDENCE,
    help="An evidence file (repeat, or list more files after the options).",
)
more_files = click.argument("more", nargs=-1, type=EVIDENCE, metavar="[FILE]...")


@plan_command(wallet)
@click.option("--attestation", type=ExistingFile("an attestation file from an enroller"), required=True)
@click.option(
    "--allowance",
    type=FEN,
    help="Fen the pool may auto-debit for shares (default: the plan's year cap; 0: pay by hand).",
)
def join(obj, rpc, deployment_path, account, password_file, attestation, allowance) -> None:
    """Join the plan with an enroller's attestation (free; one transaction for the year)."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    r = plan.join(suite, attestation, allowance)
    debit = (
        f"the pool may auto-debit up to {rmb(r['auto_debit_allowance'])} for your shares"
        if r["auto_debit_allowance"]
        else "you pay each share yourself (`hubao wallet pay`, or `hubao wallet allow` for auto-debit)"
    )
    obj["out"].result(
        r,
        f"joined: cover {rmb(r['cover'])}; illnesses are covered from {day(r['waiting_ends_at'])} "
        f"(accidents now) until {day(r['cover_ends_at'])}; {debit}",
    )


@plan_command(wallet, sign=False)
def status(obj, rpc, deployment_path, account) -> None:
    """Membership, waiting period, cover, shares owed and the next settlement."""
    suite, address = session(obj, rpc, deployment_path, account, sign=False)
    s = plan.status(suite, address)
    lines = [f"account       {address}", f"membership    {STATE_WORDS.get(s['state'], s['state'])}"]
    if s["joined_at"]:
        lines.append(f"cover         {rmb(s['cover'])} until {day(s['cover_ends_at'])}")
        if s["state"] == "Waiting":
            lines.append(f"waiting       illness cover starts {day(s['waiting_ends_at'])}")
    owed = rmb(s["owed"]) + (f", due {moment(s['owed_due_at'])}" if s["owed_due_at"] else "")
    lines.append(f"shares owed   {owed}{' (OVERDUE)' if s['overdue'] else ''}")
    if s["credit"]:
        lines.append(f"paid ahead    {rmb(s['credit'])} (the coming shares come out of this first)")
    lines.append(f"auto-debit    up to {rmb(s['auto_debit_allowance'])}; balance {rmb(s['balance'])}")
    lines.append(f"next close    {moment(s['next_settlement_at'])}")
    if s["open_claim"] is not None:
        lines.append(f"open claim    #{s['open_claim']}")
    obj["out"].result(s, "\n".join(lines))


@plan_command(wallet)
@click.option("--amount", type=FEN, help="Fen the pool may debit (default: the plan's year cap; 0 stops it).")
def allow(obj, rpc, deployment_path, account, password_file, amount) -> None:
    """Renew auto-debit of your shares (once a year)."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    r = plan.allow(suite, amount)
    obj["out"].result(
        r, f"the pool may now auto-debit up to {rmb(r['auto_debit_allowance'])} for your shares"
    )


@plan_command(wallet)
def pay(obj, rpc, deployment_path, account, password_file) -> None:
    """Pay the shares you owe now."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    r = plan.pay(suite)
    obj["out"].result(r, f"paid {rmb(r['paid'])}")


@plan_command(wallet, name="exit")
@click.option("--force", is_flag=True, help="Leave even with an open claim (it lapses).")
def exit_(obj, rpc, deployment_path, account, password_file, force) -> None:
    """Leave the plan (you still share the cases settled at this period's close)."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    r = plan.leave(suite, force)
    obj["out"].result(
        r, f"you left the plan; you share the cases settled at the close on {moment(r['shares_until'])}"
    )


@wallet.group()
def claim() -> None:
    """Submit, follow and dispute your claim."""


@plan_command(claim, name="submit")
@click.option(
    "--illness", type=ILLNESS, required=True, help="Code in the catalogue of 100 illnesses (1-100)."
)
@click.option("--accident", is_flag=True, help="Caused by an accident (no waiting period).")
@click.option(
    "--force", is_flag=True, help="Submit an illness inside the waiting period (it ends your cover)."
)
@evidence_files
@more_files
def claim_submit(obj, rpc, deployment_path, account, password_file, illness, accident, force, evidence, more):
    """Submit a claim: the files' Merkle root goes on chain, the files sealed into the evidence store."""
    files = _files(evidence, more)
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    plan.check_claim(suite, illness, accident, force)  # refusals first, then who may read
    client, readers = evidence_of(suite, deployment_path)
    r = plan.submit_claim(suite, client, readers, illness, accident, files, force)
    if r["status"] == "RefusedInWaitingPeriod":
        if obj["out"].as_json:
            obj["out"].result(r, "")
        raise PlanError(f"claim #{r['claim_id']} refused: illness in the waiting period; membership ended")
    obj["out"].result(
        r,
        f"claim #{r['claim_id']} submitted for {rmb(r['amount'])}; evidence root {r['evidence_root']} "
        f"({len(r['files'])} file(s) sealed for you and the investigators)",
    )


@plan_command(claim, name="status", sign=False)
@click.argument("claim_id", type=CLAIM_ID)
def claim_status(obj, rpc, deployment_path, account, claim_id) -> None:
    """Where a claim stands."""
    suite, _ = session(obj, rpc, deployment_path, account, sign=False)
    c = plan.claim_info(suite, claim_id)
    lines = [
        f"claim #{claim_id}: {c['meaning']}",
        f"amount {rmb(c['amount'])}, illness {c['illness']}" + (" (accident)" if c["accident"] else ""),
        f"evidence root {c['evidence_root']}",
    ]
    if c["deadline"] and c["status"] == "InNotice":
        lines.append(f"public notice until {moment(c['deadline'])}")
    if c["deadline"] and c["status"] == "Rejected":
        lines.append(f"you may dispute until {moment(c['deadline'])}")
    if "jury" in c:
        j = c["jury"]
        lines.append(
            f"review board: votes until {moment(j['commit_ends_at'])}, revealed until "
            f"{moment(j['reveal_ends_at'])}; {j['in_favour']} for, {j['against']} against"
        )
    if "paid" in c:
        lines.append(f"paid so far {rmb(c['paid'])}")
    obj["out"].result(c, "\n".join(lines))


@plan_command(claim, name="dispute")
@click.argument("claim_id", type=CLAIM_ID)
def claim_dispute(obj, rpc, deployment_path, account, password_file, claim_id) -> None:
    """Take a rejected claim to the review board of member jurors."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    r = plan.dispute(suite, claim_id)
    obj["out"].result(
        r, f"claim #{claim_id} goes to the review board; votes close {moment(r['commit_ends_at'])}"
    )


def _write_bundle(obj, bundle, problems: list[str], out_dir: Path | None, claim_id: int) -> None:
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in bundle.files.items():
            (out_dir / name).write_bytes(data)
        # the leaves are salted: with the salts anyone given these files can `hubao evidence verify`
        (out_dir / "salts.json").write_text(json.dumps(bundle.salts_json(), indent=2) + "\n")
    rows = [
        [name, len(data), "redacted" if name in bundle.redacted else "matches chain"]
        for name, data in sorted(bundle.files.items())
    ]
    if problems:
        raise PlanError(f"evidence of claim #{claim_id} does not match the chain: {'; '.join(problems)}")
    obj["out"].table(f"Evidence of claim #{claim_id} ({bundle.kind})", ["file", "bytes", "check"], rows)


@plan_command(claim, name="evidence")
@click.argument("claim_id", type=CLAIM_ID)
@click.option("--out", "out_dir", type=Folder(), help="Write the files here.")
def claim_evidence(obj, rpc, deployment_path, account, password_file, claim_id, out_dir) -> None:
    """Decrypt a claim's evidence (if this account may read it) and check it against the chain."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    from consortium.evidence.client import EvidenceClient

    bundle, problems = plan.read_evidence(suite, EvidenceClient(suite.w3), claim_id)
    _write_bundle(obj, bundle, problems, out_dir, claim_id)


@wallet.group()
def notice() -> None:
    """Cases under public notice, and objections to them."""


@plan_command(notice, name="list", sign=False)
def notice_list(obj, rpc, deployment_path, account) -> None:
    """Cases under public notice: amount, illness and evidence root (never who)."""
    from consortium.client import Suite

    suite = Suite(*connect(rpc, deployment_path))
    rows = plan.notices(suite)
    if obj["out"].as_json:
        obj["out"].table("", list(rows[0]) if rows else [], [list(r.values()) for r in rows])
        return
    obj["out"].table(
        "Under public notice",
        ["claim", "illness", "amount", "evidence root", "objections until"],
        [
            [
                r["claim_id"],
                f"{r['illness']}{' (accident)' if r['accident'] else ''}",
                rmb(r["amount"]),
                r["evidence_root"],
                moment(r["notice_ends_at"]),
            ]
            for r in rows
        ],
        empty="no case is under public notice",
    )


@plan_command(notice, name="object")
@click.argument("claim_id", type=CLAIM_ID)
@evidence_files
@more_files
def notice_object(obj, rpc, deployment_path, account, password_file, claim_id, evidence, more) -> None:
    """Object to a case under notice, with evidence: it goes back to the investigators (once each)."""
    files = _files(evidence, more)
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    plan.check_objection(suite, claim_id)
    client, readers = evidence_of(suite, deployment_path)
    r = plan.object_to(suite, client, readers, claim_id, files)
    obj["out"].result(r, f"objection to claim #{claim_id} filed (evidence root {r['evidence_root']})")


@wallet.group()
def jury() -> None:
    """The review board: cases, commit and reveal your vote."""


@plan_command(jury, name="cases", sign=False)
def jury_cases(obj, rpc, deployment_path, account) -> None:
    """Disputed cases open for votes."""
    suite, address = session(obj, rpc, deployment_path, account, sign=False)
    rows = plan.jury_cases(suite, address)
    if obj["out"].as_json:
        obj["out"].table("", list(rows[0]) if rows else [], [list(r.values()) for r in rows])
        return
    obj["out"].table(
        "Review board",
        ["claim", "phase", "votes until", "reveal until", "your vote"],
        [
            [
                r["claim_id"],
                r["phase"],
                moment(r["commit_ends_at"]),
                moment(r["reveal_ends_at"]),
                "revealed" if r["revealed"] else "committed" if r["committed"] else r["may_vote"],
            ]
            for r in rows
        ],
        empty="no case before the review board",
    )


def _votebook(obj, suite):
    from consortium.wallet.votes import VoteBook

    return VoteBook(obj["keystore"].directory, suite.tx.chain_id, suite.jury.address)


@plan_command(jury, name="commit")
@click.argument("claim_id", type=CLAIM_ID)
@click.argument("vote", type=OneOf("yes", "no"))
def jury_commit(obj, rpc, deployment_path, account, password_file, claim_id, vote) -> None:
    """Commit a hidden vote (yes: pay the claim). The wallet keeps the salt to reveal it."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    r = plan.commit_vote(suite, _votebook(obj, suite), claim_id, vote == "yes")
    obj["out"].result(
        r,
        f"vote on claim #{claim_id} committed; reveal it between {moment(r['reveal_from'])} and "
        f"{moment(r['reveal_until'])} with `hubao wallet jury reveal {claim_id}`",
    )


@plan_command(jury, name="reveal")
@click.argument("claim_id", type=CLAIM_ID)
@click.option("--vote", type=OneOf("yes", "no"), help="Reveal this vote instead of the kept one.")
@click.option("--salt", type=Bytes32(), help="Reveal with this salt (0x...) instead of the kept one.")
def jury_reveal(obj, rpc, deployment_path, account, password_file, claim_id, vote, salt) -> None:
    """Reveal the vote you committed (with the salt the wallet kept)."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    in_favour = None if vote is None else vote == "yes"
    r = plan.reveal_vote(suite, _votebook(obj, suite), claim_id, in_favour, salt)
    obj["out"].result(r, f"vote on claim #{claim_id} revealed: {r['vote']}")


@plan_command(jury, name="evidence")
@click.argument("claim_id", type=CLAIM_ID)
@click.option("--out", "out_dir", type=Folder(), help="Write the files here.")
def jury_evidence(obj, rpc, deployment_path, account, password_file, claim_id, out_dir) -> None:
    """Read the jurors' copy of a disputed case's evidence (personal fields removed)."""
    suite, _ = session(obj, rpc, deployment_path, account, password_file)
    from consortium.evidence.client import EvidenceClient

    bundle, problems = plan.read_evidence(suite, EvidenceClient(suite.w3), claim_id, kind="jury")
    _write_bundle(obj, bundle, problems, out_dir, claim_id)
