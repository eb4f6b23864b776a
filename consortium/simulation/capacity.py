"""What the real plan at 100 million members would need of the chain, from this run's measured gas
per operation: transactions and gas per second on average over a year like 2020 and on the busiest
days (the launch months' joins, a collection day), against what this run's consortium sustained and
what one node executes per core (alone.py, measured in the same run).

Counts for the real year (documented assumptions, printed with the table):
- members: 100 million sharing all year; claims: 2020's 68,675 aided, with this run's claims,
  reviews, objections, disputes and finalizations per aided case; a dispute needs 1,000 valid votes
  (the real plan's), this run's min_votes scaled up;
- per member-year as in this run: deposits, debits, exits and refunds, revocations, removals,
  age-outs; joins 0.1 per member-year (the steady scenario's churn), each a `join` with a mandate;
- closes and payout runs: 24 a year;
- the launch months: 50 million joined in 182 days (interpolated linearly), enrolled in batches with
  their deposits; a collection day: one close's share of the year's debits.
Every validator executes every block, so the chain's capacity is one core's, however many there are.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from consortium.operator.enrollment import ENROLL_CHUNK
from consortium.operator.settlement import COLLECT_BATCH, FUND_BATCH
from consortium.simulation.chainlog import Chain
from consortium.simulation.params import REAL, SimConfig

DAY_S = 86_400
YEAR_S = 365 * DAY_S
MEMBERS = REAL["members"]
REAL_VOTES_PER_DISPUTE = 1_000
LAUNCH_JOINS_PER_DAY = 50_000_000 / 182
CLOSES_PER_YEAR = 24
JOIN_CHURN = 0.1  # joins per member-year after the launch
# a batch's units: the events it emits per member, and how many the operator's code puts in one
UNITS = {
    "membership.enrollBatch": (("MemberJoined",), ENROLL_CHUNK),
    "token.mintEach": (("Transfer",), FUND_BATCH),
    "pool.collect": (("SharePaid", "DebitFailed"), COLLECT_BATCH),
    "pool.removeDefaulters": (("DefaulterRemoved",), COLLECT_BATCH),
}
PER_JOIN = ("token.mintEach",)  # a deposit comes with each joiner
CLAIM_OPS = ("claims.submit", "claims.approve", "claims.reject", "claims.object", "claims.dispute",
             "claims.finalize", "claims.resolveDispute")  # fmt: skip
VOTE_OPS = ("jury.commit", "jury.reveal")
PER_CLOSE = ("pool.closePeriod", "pool.disburse")
JOINS = ("membership.enrollBatch", "membership.join")


def per_operation(chain: Chain) -> dict[str, dict]:
    """Per function: transactions, units (members, for batches), gas; and its cost as gas per
    transaction plus gas per unit (for a batch fitted over the run's batches of different sizes,
    so the real plan's full batches are priced right), and the units a real transaction carries."""
    emitted: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for e in chain.events:
        emitted[(e.block, e.order[0])][e.name] += 1
    samples: dict[str, list[tuple[int, int]]] = defaultdict(list)  # (units, gas) per transaction
    for tx in chain.txs:
        names = UNITS.get(tx.function, ((), 1))[0]
        units = sum(emitted[(tx.block, tx.index)][n] for n in names) if names else 1
        samples[tx.function].append((units, tx.gas))
    ops = {}
    for name, points in sorted(samples.items()):
        units, gas = sum(u for u, _ in points), sum(g for _, g in points)
        per_tx, per_unit = fit(points) if name in UNITS else (0, gas / len(points))
        ops[name] = {
            "txs": len(points),
            "units": units,
            "gas": gas,
            "gas_per_tx": round(per_tx),
            "gas_per_unit": round(per_unit),
            "units_per_tx": UNITS.get(name, ((), 1))[1],
        }
    return ops


def fit(points: list[tuple[int, int]]) -> tuple[float, float]:
    """gas = per_tx + per_unit * units, least squares; with one batch size, all of it per unit."""
    n = len(points)
    mean_u = sum(u for u, _ in points) / n
    mean_g = sum(g for _, g in points) / n
    spread = sum((u - mean_u) ** 2 for u, _ in points)
    if spread == 0 or n < 2:
        return 0.0, mean_g / mean_u if mean_u else 0.0
    per_unit = sum((u - mean_u) * (g - mean_g) for u, g in points) / spread
    return max(0.0, mean_g - per_unit * mean_u), per_unit


def real_year(chain: Chain, ops: dict[str, dict], member_years: float, config: SimConfig) -> dict:
    """Units per year of each operation for the real plan at 100 million members."""
    accepted = max(1, len(chain.of("ClaimAccepted")))
    disputes = max(1, len(chain.of("ClaimDisputed")))
    aided = REAL["aided_2020"]
    closes = max(1, len(chain.of("PeriodClosed")))
    year: dict[str, float] = {}
    for name, op in ops.items():
        if name in CLAIM_OPS:
            year[name] = op["units"] / accepted * aided
        elif name in VOTE_OPS:
            votes_per_dispute = op["units"] / disputes * REAL_VOTES_PER_DISPUTE / config.min_votes
            year[name] = votes_per_dispute * disputes / accepted * aided
        elif name in PER_CLOSE:
            year[name] = op["units"] / closes * CLOSES_PER_YEAR
        elif name in PER_JOIN:
            year[name] = JOIN_CHURN * MEMBERS
        elif name not in JOINS and member_years:
            year[name] = op["units"] / member_years * MEMBERS
    join = next((n for n in ("membership.join", "membership.enrollBatch") if n in ops), None)
    if join:
        year[join] = JOIN_CHURN * MEMBERS
    return {n: {"units": units, **_cost(ops[n], units)} for n, units in year.items()}


def _cost(op: dict, units: float) -> dict:
    txs = units / op["units_per_tx"]
    return {"gas": txs * op["gas_per_tx"] + units * op["gas_per_unit"], "txs": txs}


def table(chain: Chain, totals: dict, config: SimConfig, alone: dict | None, nodes: int, cores: int) -> dict:
    ops = per_operation(chain)
    year = real_year(chain, ops, totals["member_years"], config)
    average = {n: _per_second(v, YEAR_S) for n, v in year.items()}
    launch_day = _day(
        ops, {"membership.enrollBatch": LAUNCH_JOINS_PER_DAY, "token.mintEach": LAUNCH_JOINS_PER_DAY}
    )
    debits = year.get("pool.collect", {}).get("units", 0) / CLOSES_PER_YEAR
    collection_day = _day(ops, {"pool.collect": debits, "pool.closePeriod": 1, "pool.disburse": 1})
    needs = {"real plan, average over a year like 2020": average}
    for what, extra in (("busiest day: a launch month's joins (275,000 a day)", launch_day),
                        ("busiest day: a collection day (one close's debits)", collection_day)):  # fmt: skip
        needs[what] = _plus(average, extra)
    rows = [{"need": what, **_rounded(_sum(by_op))} for what, by_op in needs.items()]
    have = [{"have": "this run's consortium sustained", "tx_per_s": totals["chain_tx_per_second"],
             "gas_per_s": totals["chain_gas_per_second"]}]  # fmt: skip
    result = {"operations": ops, "real_year": {n: _rounded(v) for n, v in year.items()}, "needs": rows}
    gas, txs = sum(v["gas"] for v in year.values()), sum(v["txs"] for v in year.values())
    result["gas_per_member_year_at_real_incidence"] = round(gas / MEMBERS)
    result["tx_per_member_year_at_real_incidence"] = round(txs / MEMBERS, 3)
    if alone:
        have.append({"have": f"one node alone, one core ({alone['what']})", "tx_per_s": None,
                     "gas_per_s": alone["gas_per_second"]})  # fmt: skip
        rate = rates_of(alone)
        busiest = max(_core_seconds(by_op, rate) for by_op in needs.values())
        for row, by_op in zip(rows, needs.values(), strict=True):
            row["core_share"] = round(_core_seconds(by_op, rate), 3)
        result["margin_on_one_core"] = round(1 / busiest, 2) if busiest else None
        result["carries_real_plan_on_one_core"] = busiest <= 1
        share = alone["gas_per_second"] * min(cores, nodes) / nodes  # every node executes every block
        result["sustained_over_alone"] = round(totals["chain_gas_per_second"] / share, 2) if share else None
        result["alone_basis"] = (
            f"{alone['gas_per_second']:,} gas/s x {min(cores, nodes)} cores / {nodes} nodes"
        )
    result["have"] = have
    return result


def rates_of(alone: dict):
    """Gas per second one core executes of an operation: its own blocks' rate where the run had
    blocks of that operation alone, else the rate of everything."""
    kinds = {k: v["gas_per_second"] for k, v in alone.get("kinds", {}).items() if v.get("gas_per_second")}
    return lambda name: kinds.get(name, alone["gas_per_second"])


def _core_seconds(by_op: dict[str, dict], rate) -> float:
    """Seconds of one core's execution each second of this need takes (above 1: it does not fit)."""
    return sum(v["gas_per_s"] / rate(name) for name, v in by_op.items())


def _per_second(cost: dict, seconds: float) -> dict:
    return {"tx_per_s": cost["txs"] / seconds, "gas_per_s": cost["gas"] / seconds}


def _plus(a: dict[str, dict], b: dict[str, dict]) -> dict[str, dict]:
    out = {n: dict(v) for n, v in a.items()}
    for n, v in b.items():
        base = out.setdefault(n, {"tx_per_s": 0.0, "gas_per_s": 0.0})
        out[n] = {k: base[k] + v[k] for k in base}
    return out


def _sum(by_op: dict[str, dict]) -> dict:
    return {k: sum(v[k] for v in by_op.values()) for k in ("tx_per_s", "gas_per_s")}


def _day(ops: dict, units_per_day: dict[str, float]) -> dict[str, dict]:
    return {n: _per_second(_cost(ops[n], units), DAY_S) for n, units in units_per_day.items() if n in ops}


def _rounded(v: dict) -> dict:
    return {k: (round(x, 2) if isinstance(x, float) and x < 100 else round(x)) for k, x in v.items()}
