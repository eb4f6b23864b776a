"""The books, recomputed from the chain alone: every event the suite emitted, every block's gas, and
balances read at the end. Nothing the driver remembers is used, so the report is evidence about the
chain, not about the simulator.

Reconciliation replays who was sharing at each period's close (SharingStarted / SharingStopped /
DefaulterRemoved) and checks, to the fen: what each member was charged equals what they paid, less
what was refunded and the credit they still hold, plus what was written off and what they still
owe; every fen the pool took in is in its balance or was paid to a claimant, as the fee or back as
a refund; each close's levy balances the payouts, fees, surplus and shortfall.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from web3 import Web3

from consortium.client import Deployment, Suite
from consortium.client.clock import CLOCK_ADDRESS
from consortium.simulation.chain import rpc_batch

ENDED = {2: "exited", 3: "removed", 4: "paid_out", 5: "ended_in_waiting", 6: "aged_out"}
SHARING, LEAVING, STOPPED = "sharing", "leaving", "stopped"
LOG_CHUNK = 2_000  # blocks per eth_getLogs


@dataclass
class Event:
    name: str
    args: dict
    block: int
    order: tuple[int, int]
    ts: int = 0


@dataclass
class Chain:
    """Everything read from the chain for one deployment."""

    deployment: Deployment
    events: list[Event]
    blocks: dict[int, dict]  # number -> {ts, txs, gas}
    first_block: int  # the plan's transactions are counted after this block (deployment is not)
    last_block: int
    by_name: dict[str, list[Event]] = field(default_factory=dict)

    def __post_init__(self):
        for e in self.events:
            self.by_name.setdefault(e.name, []).append(e)

    def of(self, name: str) -> list[Event]:
        return self.by_name.get(name, [])


def read_chain(
    w3: Web3, deployment: Deployment, to_block: int | None = None, deployed_by: int | None = None
) -> Chain:
    """The suite's events and the blocks from its deployment to `to_block`; `deployed_by`: the
    block by which the deployment had landed (its transactions spread over a number of blocks that
    depends on the chain's speed), by default the deployment's first block."""
    suite = Suite(w3, deployment)
    last = to_block if to_block is not None else w3.eth.block_number
    first = deployment.block
    decoders = {}
    for bound in (suite.token, suite.membership, suite.pool, suite.claims, suite.jury):
        for item in bound.contract.abi:
            if item["type"] == "event":
                event = getattr(bound.contract.events, item["name"])()
                topic = Web3.keccak(text=f"{item['name']}({','.join(_types(item['inputs']))})")
                decoders[(bound.address, bytes(topic))] = event
    addresses = [b.address for b in (suite.token, suite.membership, suite.pool, suite.claims, suite.jury)]
    events: list[Event] = []
    for lo in range(first, last + 1, LOG_CHUNK):
        hi = min(last, lo + LOG_CHUNK - 1)
        for log in w3.eth.get_logs({"fromBlock": lo, "toBlock": hi, "address": addresses}):
            decoder = decoders.get((Web3.to_checksum_address(log["address"]), bytes(log["topics"][0])))
            if decoder is None:
                continue
            decoded = decoder.process_log(log)
            events.append(
                Event(
                    decoded["event"],
                    dict(decoded["args"]),
                    log["blockNumber"],
                    (log["transactionIndex"], log["logIndex"]),
                )
            )
    replies = rpc_batch(w3, [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, last + 1)])
    blocks = {}
    for r in replies:
        b = r["result"]
        blocks[int(b["number"], 16)] = {
            "ts": int(b["timestamp"], 16),
            "txs": len(b["transactions"]),
            "gas": int(b["gasUsed"], 16),
        }
    for number, gas in _clock_moves(w3, first, last):  # the simulator's scaffolding, not the plan's cost
        blocks[number]["txs"] -= 1
        blocks[number]["gas"] -= gas
    for e in events:
        e.ts = blocks[e.block]["ts"]
    events.sort(key=lambda e: (e.block, *e.order))
    return Chain(deployment, events, blocks, first if deployed_by is None else deployed_by, last)


def _clock_moves(w3: Web3, first: int, last: int) -> list[tuple[int, int]]:
    """(block, gas used) of each move of the consortium clock between the two blocks."""
    hashes = []
    for lo in range(first, last + 1, LOG_CHUNK):
        logs = w3.eth.get_logs(
            {"fromBlock": lo, "toBlock": min(last, lo + LOG_CHUNK - 1), "address": CLOCK_ADDRESS}
        )
        hashes += ["0x" + bytes(log["transactionHash"]).hex() for log in logs]
    receipts = [r["result"] for r in rpc_batch(w3, [("eth_getTransactionReceipt", [h]) for h in hashes])]
    return [(int(r["blockNumber"], 16), int(r["gasUsed"], 16)) for r in receipts]


def _types(inputs: list[dict]) -> list[str]:
    out = []
    for i in inputs:
        if i["type"].startswith("tuple"):
            out.append("(" + ",".join(_types(i["components"])) + ")" + i["type"][5:])
        else:
            out.append(i["type"])
    return out


@dataclass
class Replay:
    """Who shared in each close, and what each member was charged, from events only."""

    charged: dict[str, int]
    paid: dict[str, int]
    written_off: dict[str, int]
    counted_at: dict[int, set[str]]  # period -> members who shared in its close
    sharing_mismatch: list[str]


def replay(chain: Chain) -> Replay:
    mode: dict[str, str] = {}
    stop_period: dict[str, int] = {}
    charged: dict[str, int] = defaultdict(int)
    paid: dict[str, int] = defaultdict(int)
    written: dict[str, int] = defaultdict(int)
    counted_at: dict[int, set[str]] = {}
    mismatch = []
    for e in chain.events:
        a = e.args
        if e.name == "SharingStarted":
            mode[a["member"]] = SHARING
        elif e.name == "SharingStopped":
            m = a["member"]
            if a["atClose"]:
                mode[m] = LEAVING
                stop_period[m] = a["period"]
            elif mode.get(m) in (SHARING, LEAVING):
                mode[m] = STOPPED
        elif e.name == "DefaulterRemoved":
            mode[a["member"]] = STOPPED
            written[a["member"]] += a["writtenOff"]
        elif e.name == "SharePaid":
            paid[a["member"]] += a["amount"]
        elif e.name == "PeriodClosed":
            p = a["period"]
            counted = {m for m, s in mode.items() if s in (SHARING, LEAVING)}
            if len(counted) != a["sharing"]:
                mismatch.append(f"period {p}: chain says {a['sharing']} sharing, events give {len(counted)}")
            counted_at[p] = counted
            for m in counted:
                charged[m] += a["share"]
            for m in [m for m, s in mode.items() if s == LEAVING and stop_period[m] <= p]:
                mode[m] = STOPPED
    return Replay(dict(charged), dict(paid), dict(written), counted_at, mismatch)


def reconcile(w3: Web3, chain: Chain) -> dict:
    """Every fen accounted for; `reconciled` only when every check holds."""
    suite = Suite(w3, chain.deployment)
    pool, treasury = suite.pool.address, chain.deployment.roles.treasury
    r = replay(chain)
    transfers = chain.of("Transfer")
    minted = sum(e.args["value"] for e in transfers if int(e.args["from"], 16) == 0)
    burned = sum(e.args["value"] for e in transfers if int(e.args["to"], 16) == 0)
    into_pool = sum(e.args["value"] for e in transfers if e.args["to"] == pool)
    to_treasury = sum(
        e.args["value"] for e in transfers if e.args["from"] == pool and e.args["to"] == treasury
    )
    out_of_pool = sum(
        e.args["value"] for e in transfers if e.args["from"] == pool and e.args["to"] != treasury
    )
    share_paid = sum(e.args["amount"] for e in chain.of("SharePaid"))
    claimant_paid = sum(e.args["amount"] for e in chain.of("ClaimantPaid"))
    fee_paid = sum(e.args["amount"] for e in chain.of("FeePaid"))
    refunds: dict[str, int] = defaultdict(int)
    for e in chain.of("CreditRefunded"):
        refunds[e.args["member"]] += e.args["amount"]
    refunded = sum(refunds.values())
    written_off = sum(e.args["writtenOff"] for e in chain.of("DefaulterRemoved"))
    queued = sum(e.args["amount"] for e in chain.of("PayoutQueued"))
    fees_due = sum(e.args["fee"] for e in chain.of("PayoutQueued"))
    totals = suite.pool.totals()
    pool_balance = suite.token.balance_of(pool)
    members = sorted({e.args["member"] for e in chain.of("MemberJoined")})
    owed = _batch_call(w3, suite.pool, "owed", members)
    credit = _batch_call(w3, suite.pool, "credit", members)
    balances = _batch_call(w3, suite.token, "balanceOf", members)
    received = defaultdict(int)
    sent = defaultdict(int)
    for e in transfers:
        received[e.args["to"]] += e.args["value"]
        sent[e.args["from"]] += e.args["value"]
    member_problems = []
    for m, owe, ahead, bal in zip(members, owed, credit, balances, strict=True):
        charged = r.charged.get(m, 0)
        accounted = r.paid.get(m, 0) - refunds[m] - ahead + r.written_off.get(m, 0) + owe
        if charged != accounted:
            member_problems.append(
                f"{m}: charged {charged}, paid-refunded-credit+written off+owed {accounted}"
            )
        if bal != received[m] - sent[m]:
            member_problems.append(f"{m}: balance {bal}, transfers say {received[m] - sent[m]}")
    period_problems = list(r.sharing_mismatch)
    prev_surplus = prev_shortfall = 0
    written_between = 0
    written_events = iter(chain.of("DefaulterRemoved"))
    pending_written = next(written_events, None)
    for e in chain.of("PeriodClosed"):
        while pending_written is not None and (pending_written.block, *pending_written.order) < (
            e.block,
            *e.order,
        ):
            written_between += pending_written.args["writtenOff"]
            pending_written = next(written_events, None)
        a = e.args
        left = (
            a["share"] * a["sharing"]
            + prev_surplus
            - prev_shortfall
            - written_between
            - a["payouts"]
            - a["fees"]
        )
        if left != a["surplus"] - a["shortfall"]:
            period_problems.append(
                f"period {a['period']}: levy leaves {left}, chain carries "
                f"{a['surplus']} surplus / {a['shortfall']} shortfall"
            )
        prev_surplus, prev_shortfall, written_between = a["surplus"], a["shortfall"], 0
    checks = {
        "shares paid == transfers into the pool == totals.paidIn": share_paid == into_pool == totals.paidIn,
        "claimants paid + refunds == transfers out of the pool (not the fee)": claimant_paid + refunded
        == out_of_pool,
        "claimants paid == totals.paidOut, refunds == totals.refunded": claimant_paid == totals.paidOut
        and refunded == totals.refunded,
        "fees paid == transfers to the treasury == totals.feesPaid": fee_paid
        == to_treasury
        == totals.feesPaid,
        "pool token balance == paid in - paid out - fees - refunds": pool_balance
        == share_paid - claimant_paid - fee_paid - refunded
        == suite.pool.balance(),
        "token supply == minted - burned": suite.token.call("totalSupply") == minted - burned,
        "written off == sum of DefaulterRemoved": written_off == totals.writtenOff,
        "paid out <= queued payouts, fees <= fees due": claimant_paid <= queued and fee_paid <= fees_due,
        "every member: charged == paid - refunded - credit + written off + owed; balance == transfers": (
            not member_problems
        ),
        "every close: levy == payouts + fees + carried surplus/shortfall; sharing count": not period_problems,
    }
    return {
        "reconciled": all(checks.values()),
        "checks": checks,
        "problems": (member_problems + period_problems)[:20],
        "fen": {
            "minted": minted,
            "paid_in": share_paid,
            "paid_out": claimant_paid,
            "fees": fee_paid,
            "refunded": refunded,
            "credit_now": sum(credit),
            "pool_balance": pool_balance,
            "payouts_queued": queued,
            "payouts_outstanding": queued - claimant_paid,
            "fees_outstanding": fees_due - fee_paid,
            "written_off": written_off,
            "owed_now": sum(owed),
            "charged": sum(r.charged.values()),
        },
        "members_checked": len(members),
    }


def _batch_call(w3: Web3, bound, fn: str, members: list[str]) -> list[int]:
    calls = []
    for m in members:
        data = bound.contract.encode_abi(fn, [m])
        calls.append(("eth_call", [{"to": bound.address, "data": data}, "latest"]))
    return [int(r["result"], 16) for r in rpc_batch(w3, calls)]


def rule_checks(chain: Chain) -> dict:
    """The plan's rules, checked on what happened: each holds when its list of breaches is empty."""
    r = replay(chain)
    joined = {e.args["member"]: e.args["waitingEndsAt"] for e in chain.of("MemberJoined")}
    submitted = {e.args["claimId"]: e for e in chain.of("ClaimSubmitted")}
    closes = chain.of("PeriodClosed")
    in_waiting, own_case, removed_sharing = [], [], []
    for e in chain.of("ClaimAccepted"):
        s = submitted[e.args["claimId"]]
        if not s.args["accident"] and s.ts < joined[s.args["claimant"]]:
            in_waiting.append(f"claim {e.args['claimId']} accepted, filed inside the waiting period")
    for e in chain.of("PayoutQueued"):
        settle = next((c for c in closes if (c.block, *c.order) > (e.block, *e.order)), None)
        if settle is not None and e.args["claimant"] in r.counted_at[settle.args["period"]]:
            own_case.append(f"claimant of claim {e.args['claimId']} shared in the close that settled it")
    for e in chain.of("DefaulterRemoved"):
        m = e.args["member"]
        for c in closes:
            if (c.block, *c.order) > (e.block, *e.order) and m in r.counted_at[c.args["period"]]:
                removed_sharing.append(f"{m} removed, still sharing in period {c.args['period']}")
        later = [p for p in chain.of("SharePaid") if p.args["member"] == m and p.block > e.block]
        if later:
            removed_sharing.append(f"{m} removed, still paying")
    return {
        "no_payout_in_waiting_period": in_waiting,
        "claimant_never_pays_towards_own_case": own_case,
        "removed_members_no_longer_share": removed_sharing,
        "held": not (in_waiting or own_case or removed_sharing),
        "accepted_claims_checked": len(chain.of("ClaimAccepted")),
        "removals_checked": len(chain.of("DefaulterRemoved")),
    }
