"""What a person watching `hubao simulate` sees: a progress bar over simulated time while it runs,
then the period table, the reconciliation and where the report and charts are."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consortium.simulation.params import SimConfig
from consortium.simulation.report import day, rmb

console = Console()
if not console.is_terminal:
    console = Console(width=170)  # logs and pipes: the period table on one line per period


class Live:
    def __init__(self, config: SimConfig, quiet: bool = False):
        self.config = config
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]{task.fields[date]}"),
            BarColumn(),
            TextColumn("period {task.completed:.0f}/{task.total:.0f}"),
            TextColumn(
                "block {task.fields[block]}  tx {task.fields[txs]}  members {task.fields[members]}  "
                "claims {task.fields[claims]}"
            ),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=quiet,
        )
        self.task = None

    def __enter__(self) -> Live:
        self.progress.start()
        self.task = self.progress.add_task(
            "simulate", total=self.config.months * 2, date="deploying", block="-", txs=0, members=0, claims=0
        )
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def tick(self, world, now: int) -> None:
        s = world.stats
        self.progress.update(
            self.task,
            completed=s.periods_closed,
            date=day(now),
            block=world.clock.block,
            txs=s.txs,
            members=s.joined,
            claims=s.claims,
        )


def show(result: dict, out: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    cols = [
        ("period", "period"),
        ("closed", "closed_on"),
        ("sharing", "members_sharing"),
        ("new", "new_members"),
        ("claims", "claims_submitted"),
        ("approved", "approved"),
        ("rejected", "rejected"),
        ("objected", "objected"),
        ("disputed", "disputed"),
        ("paid", "accepted"),
        ("payouts RMB", "payouts_fen"),
        ("fee RMB", "fee_fen"),
        ("share RMB", "share_fen"),
        ("shortfall RMB", "shortfall_fen"),
        ("removed", "removed"),
        ("txs", "txs"),
    ]
    table = Table(title="Periods (from chain events)")
    for head, _ in cols:
        table.add_column(head, justify="right")
    for row in result["periods"]:
        table.add_row(*[rmb(row[k]) if k.endswith("_fen") else str(row[k]) for _, k in cols])
    console.print(table)
    r, c = result["rules"], result["config"]
    console.print(
        f"rules: waiting {r['waiting_period'] // 86_400} d; cover RMB {rmb(r['cover_under_40'])} under 40, "
        f"RMB {rmb(r['cover_40_to_59'])} from 40 (real / k, k = {c['scale_k']}); "
        f"fee {r['fee_bps'] / 100:g}%; "
        f"year cap RMB {rmb(r['year_cap'])}, per-case cap off; notice {r['notice_period'] // 86_400} d; "
        f"jury: {r['min_votes']} votes, {r['commit_duration'] // 86_400}+{r['reveal_duration'] // 86_400} d"
    )
    t = result["totals"]
    console.print(
        f"{t['members_joined']} members joined, {t['claims_submitted']} claims, {t['claims_accepted']} paid; "
        f"{t['transactions']} transactions in {t['blocks']} blocks, "
        f"{t['tx_per_member_year']} tx and {t['gas_per_member_year']:,} gas per member-year; "
        f"{t['chain_tx_per_second']} tx/s, {t['chain_gas_per_second']:,} gas/s over {t['wall_seconds']} s"
    )
    side = Table(title="Simulated plan vs the real Xiang Hu Bao")
    for head in ("figure", "simulated", "simulated / k", "real 2019", "real 2020"):
        side.add_column(head)
    for r in result["side_by_side"]:
        side.add_row(
            r["figure"],
            str(r["simulated"]),
            str(r.get("simulated_divided_by_k", "")),
            str(r["real_2019"]),
            str(r["real_2020"]),
        )
    console.print(side)
    rec = result["reconciliation"]
    mark = "[green]reconciled: true[/green]" if rec["reconciled"] else "[red]reconciled: false[/red]"
    console.print(
        f"{mark} ({rec['members_checked']} members; every fen: paid in {rmb(rec['fen']['paid_in'])}, "
        f"paid out {rmb(rec['fen']['paid_out'])}, fees {rmb(rec['fen']['fees'])}, "
        f"pool {rmb(rec['fen']['pool_balance'])} RMB)"
    )
    for problem in rec["problems"]:
        console.print(f"  [red]{problem}[/red]")
    held = result["rules_held"]
    console.print(
        ("[green]rules held[/green]" if held["held"] else "[red]rules broken[/red]")
        + f" ({held['accepted_claims_checked']} payouts, {held['removals_checked']} removals checked)"
    )
    console.print(
        f"report: {out / 'report.json'}, {out / 'report.csv'}; charts: " + ", ".join(result["charts"])
    )
