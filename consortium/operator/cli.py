"""`hubao operator`: the platform staff's commands (enrollers, investigators, juror registrar,
operator, treasurer). The work itself is in consortium.operator.* so the simulator runs the same code."""

from __future__ import annotations

import json
from pathlib import Path

import click

from consortium.cli_types import (
    CLAIM_ID,
    FEN,
    MAX_JURORS,
    PAYOUTS,
    WEI,
    Address,
    Day,
    ExistingFile,
    FileName,
    Folder,
    KeyFile,
    NewFile,
    OneOf,
)
from consortium.client.money import rmb
from consortium.cliutil import (
    OneLineGroup,
    Output,
    chain_options,
    connect,
    json_option,
    password_option,
    read_password,
)
from consortium.wallet.keystore import DEFAULT_DIR, Keystore
from consortium.wallet.words import PlanError, day, in_words, moment

REGISTRY = Path.home() / ".hubao" / "enroller" / "registry.json"


@click.group(cls=OneLineGroup)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def operator(ctx: click.Context, as_json: bool) -> None:
    """Enroll members, review claims, qualify jurors, settle periods."""
    ctx.obj = {"out": Output(as_json)}


def staff_command(group, name: str | None = None):
    """A signed command: --rpc, --deployment and the staff key (--key-file, or a keystore)."""

    def wrap(fn):
        fn = in_words(fn)
        fn = click.option(
            "--key-file",
            "key",
            type=KeyFile(),
            envvar="HUBAO_KEY_FILE",
            help="File holding the private key as hex (instead of a keystore).",
        )(fn)
        fn = click.option("--account", type=Address(), help="Which keystore key, when there are several.")(fn)
        fn = click.option(
            "--keystore",
            "keystore_dir",
            type=Folder(),
            default=DEFAULT_DIR,
            envvar="HUBAO_WALLET",
            help="Folder of keystore files (same format as the wallet).",
        )(fn)
        fn = password_option(fn)
        fn = chain_options(json_option(fn))
        fn = click.pass_obj(fn)
        return group.command(name)(fn)

    return wrap


def staff_suite(rpc, deployment_path, keystore_dir, account, password_file, key):
    """A Suite signing with the staff key: the --key-file's (read and checked by its type) or one
    unlocked from the keystore."""
    from consortium.client import Suite

    w3, deployment = connect(rpc, deployment_path)
    if key is None:
        _, key = Keystore(keystore_dir).unlock(account, read_password(password_file))
    return Suite(w3, deployment, key)


def _keyargs(kw: dict) -> tuple:
    return tuple(
        kw.pop(k) for k in ("rpc", "deployment_path", "keystore_dir", "account", "password_file", "key")
    )


# ---- enrollment ----

registry_option = click.option(
    "--registry",
    type=NewFile(),
    default=REGISTRY,
    envvar="HUBAO_REGISTRY",
    show_default=True,
    help="The enroller's registry of identity commitments.",
)


def _refuse_id_on_command_line(ctx, param, value):
    if value is not None:
        raise click.UsageError(
            "identity numbers are not taken on the command line (every process list shows it): "
            "give --national-id-file FILE, or leave it out and type it at the prompt"
        )


def read_national_id(path: Path | None) -> str:
    """The identity number from a file (its first line) or a hidden prompt, never from argv."""
    value = path.read_text().splitlines()[0] if path is not None else ""
    if path is None:
        value = click.prompt("National ID", hide_input=True)
    if not value.strip():
        raise PlanError("the national ID is empty")
    return value.strip()


@staff_command(operator)
@click.option("--member", type=Address(), required=True, help="The person's wallet address.")
@click.option(
    "--national-id-file",
    type=ExistingFile(),
    help="File whose first line is their identity number (default: a prompt). Only a salted hash is kept.",
)
@click.option("--national-id", hidden=True, expose_value=False, callback=_refuse_id_on_command_line)
@click.option("--birth-date", type=Day(), required=True, help="YYYY-MM-DD.")
@click.option("--health", required=True, type=OneOf("pass", "fail"), help="Health declaration.")
@click.option("--out", type=NewFile(), required=True, help="Attestation file.")
@registry_option
def enroll(obj, member, national_id_file, birth_date, health, out, registry, **kw) -> None:
    """Issue a signed attestation for an eligible person (the enroller's key signs)."""
    from consortium.operator import enrollment as e

    national_id = read_national_id(national_id_file)
    suite = staff_suite(*_keyargs(kw))
    applicant = e.Applicant(member, national_id, birth_date, health == "pass")
    content = e.enroll(suite, e.Registry(registry), applicant)
    e.write_attestation(out, content)
    obj["out"].result({**content, "file": str(out)}, f"{e.describe(content)} -> {out}")


@staff_command(operator, "enroll-batch")
@click.argument("csv_file", type=ExistingFile("an existing CSV file (member,national_id,birth_date,health)"))
@click.option("--out-dir", type=Folder(), required=True, help="Where the attestation files go.")
@registry_option
def enroll_batch(obj, csv_file, out_dir, registry, **kw) -> None:
    """Attest every eligible person of a CSV (member,national_id,birth_date,health)."""
    from consortium.operator import enrollment as e

    suite = staff_suite(*_keyargs(kw))
    rows = e.enroll_batch(suite, e.Registry(registry), csv_file, out_dir)
    columns = ["line", "member", "issued", "refused"]
    obj["out"].table("Enrollment", columns, [[r[c] for c in columns] for r in rows], empty="empty file")


@staff_command(operator, "publish-key")
def publish_key(obj, **kw) -> None:
    """Publish this investigator's evidence key in the deployment file (checked on chain by wallets)."""
    from consortium.evidence.envelope import public_key_of
    from consortium.evidence.readers import publish_reader

    deployment_path = kw["deployment_path"]
    suite = staff_suite(*_keyargs(kw))
    if not suite.claims.is_investigator(suite.address):
        raise PlanError(f"{suite.address} does not hold INVESTIGATOR_ROLE: its key would not be used")
    address = publish_reader(deployment_path, public_key_of(suite.tx.account.key))
    obj["out"].result(
        {"investigator": address, "deployment": str(deployment_path)},
        f"evidence key of investigator {address} published in {deployment_path}",
    )


# ---- review ----


@operator.group()
def review() -> None:
    """Investigators: the queue, the evidence, the decision."""


@staff_command(review, "list")
def review_list(obj, **kw) -> None:
    """Claims waiting for review."""
    from consortium.operator.review import review_queue

    rows = review_queue(staff_suite(*_keyargs(kw)))
    if obj["out"].as_json:
        click.echo(json.dumps(rows))
        return
    obj["out"].table(
        "Review queue",
        ["claim", "claimant", "illness", "amount", "submitted", "objections"],
        [
            [
                r["claim_id"],
                r["claimant"],
                f"{r['illness']}{' (accident)' if r['accident'] else ''}",
                rmb(r["amount"]),
                day(r["submitted_at"]),
                r["objections"],
            ]
            for r in rows
        ],
        empty="no claim waits for review",
    )


@staff_command(review, "show")
@click.argument("claim_id", type=CLAIM_ID)
@click.option("--out", "out_dir", type=Folder(), help="Write the files here.")
def review_show(obj, claim_id, out_dir, **kw) -> None:
    """Decrypt a claim's evidence (and objections) and check every file against the chain."""
    from consortium.evidence.client import EvidenceClient
    from consortium.operator.review import review_evidence

    suite = staff_suite(*_keyargs(kw))
    found = review_evidence(suite, EvidenceClient(suite.w3), claim_id)
    bundle, problems = found["claim"]
    sets = [("claim", bundle, problems)] + [
        (f"objection by {who}", b, p) for who, b, p in found["objections"]
    ]
    rows, all_problems = [], []
    for label, b, p in sets:
        for name, data in sorted(b.files.items()):
            rows.append(
                [label, name, len(data), "CHANGED" if any(x.startswith(name + ":") for x in p) else "ok"]
            )
            if out_dir is not None:
                folder = out_dir / ("claim" if label == "claim" else f"objection-{sets.index((label, b, p))}")
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
        all_problems += [f"{label}: {x}" for x in p]
    if all_problems:
        raise PlanError(f"evidence of claim #{claim_id} does not match the chain: {'; '.join(all_problems)}")
    obj["out"].table(
        f"Evidence of claim #{claim_id}: every file matches its root on chain",
        ["from", "file", "bytes", "check"],
        rows,
    )


def _decide(obj, claim_id, report, approve, kw) -> None:
    from consortium.operator.review import decide

    r = decide(staff_suite(*_keyargs(kw)), claim_id, approve, report)
    until = "public notice until" if approve else "the claimant may dispute until"
    obj["out"].result(r, f"claim #{claim_id} {r['decision']}; {until} {moment(r['deadline'])}")


report_option = click.option(
    "--report",
    type=ExistingFile("an existing, readable report file"),
    required=True,
    help="The investigation report (its hash goes on chain).",
)


@staff_command(review, "approve")
@click.argument("claim_id", type=CLAIM_ID)
@report_option
def review_approve(obj, claim_id, report, **kw) -> None:
    """Approve: the case goes under public notice."""
    _decide(obj, claim_id, report, True, kw)


@staff_command(review, "reject")
@click.argument("claim_id", type=CLAIM_ID)
@report_option
def review_reject(obj, claim_id, report, **kw) -> None:
    """Reject: the claimant may dispute before the review board."""
    _decide(obj, claim_id, report, False, kw)


@staff_command(review, "jury-copy")
@click.argument("claim_id", type=CLAIM_ID)
@click.option(
    "--withhold", multiple=True, type=FileName(), help="A file jurors must not see at all (repeatable)."
)
def review_jury_copy(obj, claim_id, withhold, **kw) -> None:
    """Seal the evidence, personal fields removed, for the jurors of a disputed case."""
    from consortium.evidence.client import EvidenceClient
    from consortium.operator.review import jury_copy

    suite = staff_suite(*_keyargs(kw))
    r = jury_copy(suite, EvidenceClient(suite.w3), claim_id, set(withhold))
    obj["out"].result(
        r,
        f"jury copy of claim #{claim_id} sealed for {len(r['jurors'])} jurors; "
        f"redacted: {', '.join(r['redacted']) or 'nothing'}",
    )


# ---- jurors ----


@operator.group()
def juror() -> None:
    """The juror registrar: members who passed the exam."""


def _at_most_jurors(ctx, param, value):
    if len(value) > MAX_JURORS:
        raise click.BadParameter(f"must be at most {MAX_JURORS} addresses per transaction, not {len(value)}")
    return value


@staff_command(juror, "qualify")
@click.argument("addresses", nargs=-1, required=True, type=Address(), callback=_at_most_jurors)
def juror_qualify(obj, addresses, **kw) -> None:
    """Qualify members as jurors (they may vote after the juror delay)."""
    from consortium.operator.jurors import qualify

    r = qualify(staff_suite(*_keyargs(kw)), list(addresses))
    obj["out"].result(r, f"{len(r['jurors'])} juror(s) qualified; they may vote from {day(r['eligible_at'])}")


# ---- money ----


@staff_command(operator)
@click.option(
    "--max-payouts", type=PAYOUTS, default=50, show_default=True, help="Payouts per disburse transaction."
)
def settle(obj, max_payouts, **kw) -> None:
    """Close every period that ended: accept due claims, close, collect by auto-debit (a few periods
    ahead), pay out, refund leavers' unused credit."""
    from consortium.operator.settlement import settle as run

    r = run(staff_suite(*_keyargs(kw)), max_payouts)
    if obj["out"].as_json:
        obj["out"].result(r, "")
        return
    obj["out"].table(
        "Periods closed",
        ["period", "share per member", "members sharing", "cases", "payouts", "fees", "shortfall"],
        [
            [
                c["period"],
                rmb(c["share"]),
                c["sharing"],
                c["cases"],
                rmb(c["payouts"]),
                rmb(c["fees"]),
                rmb(c["shortfall"]),
            ]
            for c in r["closed"]
        ],
        empty="no period ended since the last close",
    )
    lines = []
    if r["finalized"]:
        lines.append(f"accepted after notice: {', '.join(f'#{i}' for i in r['finalized'])}")
    for x in r["resolved"]:
        lines.append(f"review board decided claim #{x['claim_id']}: {x['status']}")
    ahead = f", each topped up {rmb(r['ahead'])} ahead" if r.get("ahead") else ""
    lines.append(
        f"collected {rmb(r['collected'])} from {r['debited']} member(s){ahead}; "
        f"{r['debits_failed']} debit(s) failed"
    )
    if r["refunds"]["refunded"]:
        lines.append(
            f"refunded {rmb(r['refunds']['amount'])} of unused credit "
            f"to {len(r['refunds']['refunded'])} leaver(s)"
        )
    for p in r["paid"]:
        lines.append(
            f"paid claim #{p['claim_id']}: {rmb(p['amount'])}"
            + (f" ({rmb(p['still_owed'])} still owed)" if p["still_owed"] else "")
        )
    lines.append(f"pool balance {rmb(r['pool_balance'])}")
    obj["out"].result(r, "\n".join(lines))


@staff_command(operator, "remove-defaulters")
def remove_defaulters(obj, **kw) -> None:
    """Remove members whose share is unpaid after the grace period."""
    from consortium.operator.settlement import remove_defaulters as run

    removed = run(staff_suite(*_keyargs(kw)))
    obj["out"].result(
        {"removed": removed},
        f"removed {len(removed)} member(s)" + (": " + ", ".join(removed) if removed else ""),
    )


@staff_command(operator, "age-out")
def age_out(obj, **kw) -> None:
    """End the cover of members who turned 60: their membership ends and they stop sharing."""
    from consortium.operator.enrollment import age_out as run

    r = run(staff_suite(*_keyargs(kw)))
    lines = [
        f"ended the cover of {len(r['aged_out'])} member(s)" + "".join(f"\n  {m}" for m in r["aged_out"])
    ]
    lines += [f"could not end {f['member']}: {f['why']}" for f in r["failed"]]
    obj["out"].result(r, "\n".join(lines))


@staff_command(operator)
@click.argument("to", type=Address())
@click.argument("amount", type=FEN)
@click.option(
    "--gas-money",
    type=WEI,
    default=10**17,
    show_default=True,
    help="Wei of gas money sent along when the account runs low (0: none).",
)
def fund(obj, to, amount, gas_money, **kw) -> None:
    """Treasurer: credit AMOUNT fen to the account TO (money entering the platform; 0: gas money only)."""
    from consortium.operator.settlement import fund as run

    r = run(staff_suite(*_keyargs(kw)), to, amount, gas_money)
    gas = f" (and {r['gas_money'] / 10**18:g} ETH of gas money)" if r["gas_money"] else ""
    obj["out"].result(r, f"credited {rmb(amount)} to {r['account']}{gas}; balance {rmb(r['balance'])}")
