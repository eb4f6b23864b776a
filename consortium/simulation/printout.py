"""The report as printed at the end of `hubao simulate` and `make demo`: the period table (within
100 columns when the output is not a terminal; report.csv has every column), the rules, the
side-by-side with the real plan, the reconciliation and where the files are."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from consortium.client.money import yuan

console = Console()
NARROW = not console.is_terminal
if NARROW:
    console = Console(width=100)  # logs and pipes

WIDE_COLUMNS = [
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
NARROW_COLUMNS = [
    ("period", "period"),
    ("closed", "closed_on"),
    ("sharing", "members_sharing"),
    ("new", "new_members"),
    ("claims", "claims_submitted"),
    ("paid", "accepted"),
    ("payouts RMB", "payouts_fen"),
    ("share RMB", "share_fen"),
    ("removed", "removed"),
    ("txs", "txs"),
]


def show(result: dict, out: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    cols = NARROW_COLUMNS if NARROW else WIDE_COLUMNS
    table = Table(title="Periods (from chain events)")
    for head, _ in cols:
        table.add_column(head, justify="right")
    for row in result["periods"]:
        table.add_row(*[yuan(row[k]) if k.endswith("_fen") else str(row[k]) for _, k in cols])
    console.print(table)
    r, c = result["rules"], result["config"]
    console.print(
        f"rules: waiting {r['waiting_period'] // 86_400} d; cover RMB {yuan(r['cover_under_40'])} under 40, "
        f"RMB {yuan(r['cover_40_to_59'])} from 40 (real / k, k = {c['scale_k']}); "
        f"fee {r['fee_bps'] / 100:g}%; "
        f"year cap RMB {yuan(r['year_cap'])}, per-case cap off; notice {r['notice_period'] // 86_400} d; "
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
    show_years(result)
    show_capacity(result["capacity"])
    rec = result["reconciliation"]
    mark = "[green]reconciled: true[/green]" if rec["reconciled"] else "[red]reconciled: false[/red]"
    console.print(
        f"{mark} ({rec['members_checked']} members; every fen: paid in {yuan(rec['fen']['paid_in'])}, "
        f"paid out {yuan(rec['fen']['paid_out'])}, fees {yuan(rec['fen']['fees'])}, "
        f"pool {yuan(rec['fen']['pool_balance'])} RMB)"
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


def show_years(result: dict) -> None:
    """Per calendar year; in the launch scenario, its first two full years against 2019 and 2020."""
    years = Table(title="Per calendar year (from chain events; aided per 10,000 divided by k)")
    for head in ("year", "members at end", "cost/member RMB", "aided", "aided/10k", "gas/member-yr",
                 "tx/member-yr"):  # fmt: skip
        years.add_column(head, justify="right")
    for y in result["years"]:
        gas = f"{y['gas_per_member_year']:,}" if y["gas_per_member_year"] is not None else "-"
        years.add_row(str(y["year"]), f"{y['members_at_end']:,}", f"{y['cost_per_member_rmb']:.2f}",
                      str(y["aided"]), f"{y['aided_per_10k_divided_by_k']:.2f}", gas,
                      str(y["tx_per_member_year"]))  # fmt: skip
    console.print(years)
    if not result["launch_vs_real"]:
        return
    real = Table(title="The launch against the real plan (goal: within 25%)")
    for head in ("year", "figure", "simulated", "real", "ratio", "within"):
        real.add_column(head)
    for r in result["launch_vs_real"]:
        real.add_row(f"{r['year']} ({r['real_year']})", r["figure"], str(r["simulated"]), str(r["real"]),
                     str(r["ratio"]), "yes" if r["within_goal"] else "no")  # fmt: skip
    console.print(real)
    for r in result["launch_vs_real"]:
        if r["why_off"]:
            console.print(f"  {r['year']} {r['figure']}: {r['why_off']}")


def show_capacity(cap: dict) -> None:
    """The real plan's needs against what this run's chain and one node alone achieved."""
    table = Table(title="Capacity: the real plan at 100 million members")
    table.add_column("need / have")
    table.add_column("tx/s", justify="right")
    table.add_column("gas/s", justify="right")
    table.add_column("one core", justify="right")  # the share of a core executing it takes
    for row in cap["needs"]:
        core = f"{row['core_share']:.0%}" if "core_share" in row else "-"
        table.add_row(row["need"], f"{row['tx_per_s']:,}", f"{row['gas_per_s']:,}", core)
    for row in cap["have"]:
        tx = "-" if row["tx_per_s"] is None else f"{row['tx_per_s']:,}"
        table.add_row(row["have"], tx, f"{row['gas_per_s']:,}", "")
    console.print(table)
    console.print(
        f"at the real incidence: {cap['gas_per_member_year_at_real_incidence']:,} gas and "
        f"{cap['tx_per_member_year_at_real_incidence']} transactions per member-year"
    )
    if "margin_on_one_core" in cap:
        verdict = "carries" if cap["carries_real_plan_on_one_core"] else "does not carry"
        console.print(
            f"the design {verdict} the real plan's busiest day on one core per validator "
            f"(margin {cap['margin_on_one_core']}x, each operation at its own measured rate); "
            f"this chain sustained {cap['sustained_over_alone']} "
            f"of what its nodes execute alone ({cap['alone_basis']})"
        )
