"""The report: one row per period and the totals, all from the chain (ledger.py), the
reconciliation, the rules that held, and a side-by-side with the real plan's published figures."""

from __future__ import annotations

import bisect
import csv
import json
from pathlib import Path

from consortium.simulation.chainlog import Chain
from consortium.simulation.ledger import ENDED
from consortium.simulation.params import REAL, SimConfig
from consortium.wallet.words import day

COLUMNS = [
    "period",
    "closed_on",
    "members_sharing",
    "members_in_plan",
    "new_members",
    "claims_submitted",
    "refused_in_waiting",
    "approved",
    "rejected",
    "objected",
    "disputed",
    "jury_in_favour",
    "jury_against",
    "accepted",
    "denied",
    "payouts_fen",
    "fee_fen",
    "share_fen",
    "surplus_fen",
    "shortfall_fen",
    "paid_in_fen",
    "paid_out_fen",
    "refunded_fen",
    "removed",
    "exited",
    "aged_out",
    "txs",
    "gas",
]
COUNTED = {
    "MemberJoined": "new_members",
    "ClaimSubmitted": "claims_submitted",
    "ClaimRefusedInWaitingPeriod": "refused_in_waiting",
    "ClaimApproved": "approved",
    "ClaimRejected": "rejected",
    "ClaimObjected": "objected",
    "ClaimDisputed": "disputed",
    "ClaimAccepted": "accepted",
    "ClaimDenied": "denied",
    "DefaulterRemoved": "removed",
}


def period_rows(chain: Chain) -> list[dict]:
    """Row p: what happened after the close of period p-1 up to and including the close of period p
    (closes run late on a busy chain, so rows follow the closes, not the calendar)."""
    closes = chain.of("PeriodClosed")
    rows = [{c: 0 for c in COLUMNS} | {"period": e.args["period"]} for e in closes]
    if not rows:
        return []
    bounds = [(e.block, *e.order) for e in closes]

    def row_at(block: int, order: tuple = (10**9, 0)):
        i = bisect.bisect_left(bounds, (block, *order))
        return rows[min(i, len(rows) - 1)]  # after the last close: the final collection

    ended = [0] * len(rows)
    for e in chain.events:
        row = row_at(e.block, e.order)
        if row is None:
            continue
        if e.name in COUNTED:
            row[COUNTED[e.name]] += 1
        elif e.name == "MembershipEnded":
            ended[rows.index(row)] += 1
            if ENDED.get(e.args["reason"]) in ("exited", "aged_out"):
                row[ENDED[e.args["reason"]]] += 1
        elif e.name == "CaseClosedWith":
            row["jury_in_favour" if e.args["verdict"] == 1 else "jury_against"] += 1
        elif e.name == "SharePaid":
            row["paid_in_fen"] += e.args["amount"]
        elif e.name == "ClaimantPaid":
            row["paid_out_fen"] += e.args["amount"]
        elif e.name == "CreditRefunded":
            row["refunded_fen"] += e.args["amount"]
    for number, b in chain.blocks.items():
        row = row_at(number, (-1, -1))  # a close's block goes with it: nothing else is sent meanwhile
        if row is not None and number > chain.first_block:
            row["txs"] += b["txs"]
            row["gas"] += b["gas"]
    in_plan = 0
    for i, (row, close) in enumerate(zip(rows, closes, strict=True)):
        a = close.args
        in_plan += row["new_members"] - ended[i]
        row.update(
            closed_on=day(close.ts),
            members_sharing=a["sharing"],
            members_in_plan=in_plan,
            payouts_fen=a["payouts"],
            fee_fen=a["fees"],
            share_fen=a["share"],
            surplus_fen=a["surplus"],
            shortfall_fen=a["shortfall"],
        )
    return rows


def totals(chain: Chain, rows: list[dict], wall_seconds: float, config: SimConfig) -> dict:
    blocks = [b for n, b in chain.blocks.items() if n > chain.first_block]
    txs = sum(b["txs"] for b in blocks)
    gas = sum(b["gas"] for b in blocks)
    periods = len(rows)
    years = periods / 24 if periods else 0
    avg_sharing = sum(r["members_sharing"] for r in rows) / periods if periods else 0
    member_years = avg_sharing * years
    accepted = sum(r["accepted"] for r in rows)
    index = sum(r["share_fen"] for r in rows)
    return {
        "periods": periods,
        "simulated_days": round(periods * chain.deployment.rules.period_length / 86_400),
        "members_joined": len(chain.of("MemberJoined")),
        "average_members_sharing": round(avg_sharing, 1),
        "member_years": round(member_years, 1),
        "claims_submitted": len(chain.of("ClaimSubmitted")),
        "claims_accepted": accepted,
        "payouts_fen": sum(r["payouts_fen"] for r in rows),
        "fees_fen": sum(r["fee_fen"] for r in rows),
        "cost_per_full_member_fen": index,
        "blocks": len(blocks),
        "transactions": txs,
        "gas": gas,
        "tx_per_member_year": round(txs / member_years, 1) if member_years else None,
        "gas_per_member_year": round(gas / member_years) if member_years else None,
        "wall_seconds": wall_seconds,
        "chain_tx_per_second": round(txs / wall_seconds, 2) if wall_seconds else None,
        "chain_gas_per_second": round(gas / wall_seconds) if wall_seconds else None,
    }


def side_by_side(t: dict, config: SimConfig) -> list[dict]:
    """Simulated vs real. Claims are divided by k (the incidence scale) before comparing."""
    years = t["periods"] / 24 if t["periods"] else 0
    cost = t["cost_per_full_member_fen"] / 100 / years if years else 0
    per_10k = t["claims_accepted"] / t["member_years"] * 10_000 if t["member_years"] else 0
    real_per_10k_2019 = REAL["aided_2019"] / REAL["members"] * 10_000
    real_per_10k_2020 = REAL["aided_2020"] / REAL["members"] * 10_000
    return [
        {
            "figure": "cost per member-year (RMB)",
            "simulated": round(cost, 2),
            "real_2019": REAL["cost_per_member_2019_rmb"],
            "real_2020": REAL["cost_per_member_2020_rmb"],
            "note": "shares levied on a member who shared all year; cover is 1/k of the real cover",
        },
        {
            "figure": "claims paid per 10,000 members per year",
            "simulated": round(per_10k, 2),
            "simulated_divided_by_k": round(per_10k / config.scale, 2),
            "real_2019": round(real_per_10k_2019, 2),
            "real_2020": round(real_per_10k_2020, 2),
            "note": f"k = {config.scale:.1f}; real: aided / 100 million members",
        },
    ]


def write(out: Path, report: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    with open(out / "report.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for row in report["periods"]:
            w.writerow(row)
        total = {c: "" for c in COLUMNS}
        for c in COLUMNS[2:]:
            if c not in ("closed_on", "members_sharing", "members_in_plan"):
                total[c] = sum(r[c] for r in report["periods"])
        total["period"] = "total"
        w.writerow(total)
        t = report["totals"]
        for key in (
            "tx_per_member_year",
            "gas_per_member_year",
            "chain_tx_per_second",
            "chain_gas_per_second",
        ):
            w.writerow({"period": key, "closed_on": t[key]})
