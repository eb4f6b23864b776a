"""What two `hubao simulate` reports of one seed share: the committed outcome, period by period.

The driver moves the consortium clock a step at a time and never sends what could land on either
side of a deadline, so the seed alone decides what happens in which period. Dates differ between
runs on different start days, gas by a little (calldata carries dates and contract addresses),
and the totals about the machine and the network rather than the plan (MACHINE) are timings.
Used by tests/simulation/test_simulate.py and scripts/soak_hostile.py.
"""

from __future__ import annotations

MACHINE = (
    "blocks",
    "gas",
    "gas_per_member_year",
    "wall_seconds",
    "chain_tx_per_second",
    "chain_gas_per_second",
)


# what the blocks carried in all: with other senders on the chain (the soak's attackers), theirs too
CARRIED = ("transactions", "tx_per_member_year")


def committed(report: dict, shared: bool = False) -> dict:
    """The parts of a report that the seed alone decides; with `shared` (others send transactions
    on the same chain) without the counts of every transaction the plan's blocks carried (the
    driver's own count, run.driver_txs, stays)."""
    row_skip = ("closed_on", "gas", "txs") if shared else ("closed_on", "gas")
    rows = [{k: v for k, v in row.items() if k not in row_skip} for row in report["periods"]]
    run = {k: report["run"][k] for k in ("driver_txs", "driver_failed", "refusals", "clock_moves")}
    skip = MACHINE + CARRIED if shared else MACHINE
    totals = {k: v for k, v in report["totals"].items() if k not in skip}
    return {"rows": rows, "run": run, "totals": totals, "fen": report["reconciliation"]["fen"]}


def differences(first: dict, second: dict, shared: bool = False) -> list[str]:
    """Where two reports' committed parts differ, one line each (empty: the same outcome)."""
    a, b = committed(first, shared), committed(second, shared)
    out = [f"{k}: {a[k][i]} != {b[k][i]}" for k in ("rows",) for i in range(min(len(a[k]), len(b[k])))
           if a[k][i] != b[k][i]]  # fmt: skip
    if len(a["rows"]) != len(b["rows"]):
        out.append(f"{len(a['rows'])} periods != {len(b['rows'])}")
    out += [f"{k}: {a[k]} != {b[k]}" for k in ("run", "totals", "fen") if a[k] != b[k]]
    return out
