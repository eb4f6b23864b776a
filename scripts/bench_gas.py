#!/usr/bin/env python3
"""Gas of each member-facing step at growing membership: nothing in the suite loops over members,
so the gas of joining, claiming, reviewing, voting, settling a period and paying a share must not
change with the number of members.

    scripts/bench_gas.py                       # 100, 1,000 and 10,000 members on a fresh anvil
    scripts/bench_gas.py --members 100,100000  # any counts
    scripts/bench_gas.py --rpc http://...      # any dev node whose first accounts are the anvil ones

Populations are built with Membership.enrollBatch, each founder with the auto-debit mandate they
signed off chain (no member transaction); the first row is a further batch of 100 founders' gas per
member. The last line is the figure that matters: max/min gas ratio across member counts (must stay
at or under 1.02)."""

from __future__ import annotations

import os
import subprocess
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from rich.console import Console
from rich.table import Table
from web3 import HTTPProvider, Web3

from consortium.client import (
    DAY,
    MAX_ALLOWANCE,
    TIER_UNDER_40,
    Attestation,
    Deployment,
    Params,
    Roles,
    Rules,
    Suite,
    deploy_suite,
    sign_attestation,
    sign_mandate,
    vote_commitment,
    wait_all,
)
from consortium.network.processes import free_port
from consortium.operator.enrollment import month_start
from consortium.simulation.alone import DEV_KEYS

ROOT = Path(__file__).resolve().parent.parent

BATCH = 250
ENROLL_MEASURED = 100  # founders in the batch whose gas per member is measured
STEPS = ["enrol in a batch, with mandate (per member)", "join (with mandate)", "claim submit",
         "claim approve", "claim finalize", "settle a period", "pay a share", "auto-debit one member",
         "vote commit", "vote reveal"]  # fmt: skip
RULES = Rules(min_votes=3)


@contextmanager
def anvil(*extra: str):
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / "node_modules/.bin/anvil"), "--port", str(port), "--silent", "--gas-limit", "60000000"]
        + list(extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        w3 = Web3(HTTPProvider(url))
        for _ in range(300):
            try:
                if w3.eth.chain_id:
                    break
            except Exception:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def advance(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def gas(receipt) -> int:
    return receipt["gasUsed"]


@dataclass
class Bench:
    """A fresh suite on the dev chain: one staff account for every role and a few actors."""

    w3: Web3
    keys: dict[str, str]
    deployment: Deployment
    ops: Suite
    actors: dict[str, Suite]
    now: int
    claim_id: int = 0  # the approved claim, finalized once its notice is over

    @property
    def chain(self) -> int:
        return self.deployment.chain_id

    def attestation(self, member: str, expiry: int | None = None) -> tuple[Attestation, bytes]:
        expiry = self.now + 365 * DAY if expiry is None else expiry
        a = Attestation(
            member,
            keccak(text=f"person {member}"),
            TIER_UNDER_40,
            month_start(self.now + 30 * 365 * DAY),
            expiry,
        )
        return a, sign_attestation(self.keys["ops"], a, self.chain, self.deployment.addresses["membership"])

    def mandate(self, key: str, deadline: int):
        """The member's own signature on an unlimited auto-debit mandate."""
        member = Account.from_key(key).address
        return sign_mandate(
            key, member, MAX_ALLOWANCE, deadline, self.chain, self.deployment.addresses["membership"]
        )


def deploy(w3: Web3) -> Bench:
    names = ["deployer", "ops", "claimant", "juror1", "juror2", "juror3", "payer", "newcomer", "disputer"]
    keys = dict(zip(names, DEV_KEYS, strict=False))
    addr = {n: Account.from_key(k).address for n, k in keys.items()}
    roles = Roles(
        organisations=(addr["ops"],), operator=addr["ops"], enroller=addr["ops"], investigator=addr["ops"],
        juror_registrar=addr["ops"], treasurer=addr["ops"], treasury=addr["deployer"],
    )  # fmt: skip
    d = deploy_suite(w3, keys["deployer"], Params(RULES, roles))
    actors = {
        n: Suite(w3, d, keys[n]) for n in ("claimant", "juror1", "juror2", "juror3", "payer", "disputer")
    }
    return Bench(w3, keys, d, Suite(w3, d, keys["ops"]), actors, w3.eth.get_block("latest")["timestamp"])


def enroll_population(b: Bench, members: int, console: Console) -> None:
    """The actors first (with mandates), so they wait out their waiting period with everybody else;
    then the rest of the population in batches."""
    for s in b.actors.values():
        b.ops.token.mint(s.address, 10_000_000)
    deadline = b.now + 365 * DAY
    b.ops.membership.enroll_batch(
        [(b.attestation(s.address)[0], b.mandate(b.keys[n], deadline)) for n, s in b.actors.items()]
    )
    b.ops.jury.qualify([b.actors[j].address for j in ("juror1", "juror2", "juror3")])
    population = members - len(b.actors)
    started = time.monotonic()
    pending = []
    for first in range(0, population, BATCH):
        batch = [founder(b, members, i) for i in range(first, min(first + BATCH, population))]
        pending.append(b.ops.membership.enroll_batch(batch, wait=False, gas=BATCH * 160_000 + 200_000))
    wait_all(pending)
    console.log(f"{members:,} members enrolled in {time.monotonic() - started:.1f}s")


def enroll_measured(b: Bench, members: int) -> int:
    """Gas per member of one more batch of founders with their mandates, once `members` are in."""
    batch = [founder(b, members, -1 - i) for i in range(ENROLL_MEASURED)]
    receipt = b.ops.membership.enroll_batch(batch, gas=ENROLL_MEASURED * 160_000 + 200_000)
    assert b.ops.pool.book().sharing == members + ENROLL_MEASURED
    return gas(receipt) // ENROLL_MEASURED


def founder(b: Bench, members: int, i: int) -> tuple:
    """A founder's attestation and the auto-debit mandate they signed off chain with their own key."""
    key = keccak(text=f"bench member {members} {i}")
    member = to_checksum_address(Account.from_key(key).address)
    return b.attestation(member)[0], b.mandate(key, b.now + 365 * DAY)


def measure(w3: Web3, members: int, console: Console) -> dict[str, int]:
    """Deploy afresh, enroll `members`, then run each step once and record its gas."""
    b = deploy(w3)
    enroll_population(b, members, console)
    enrolled = enroll_measured(b, members)
    advance(w3, RULES.waiting_period + 1)
    out: dict[str, int] = {"enrol in a batch, with mandate (per member)": enrolled}
    newcomer = Suite(w3, b.deployment, b.keys["newcomer"])
    now = w3.eth.get_block("latest")["timestamp"]
    a, sig = b.attestation(newcomer.address, expiry=now + DAY)
    out["join (with mandate)"] = gas(newcomer.membership.join(a, sig, MAX_ALLOWANCE))
    out |= claim_steps(b)
    advance(w3, RULES.notice_period)
    out["claim finalize"] = gas(b.ops.claims.finalize(b.claim_id))
    end = b.ops.pool.period_end(b.ops.pool.open_period())
    advance(w3, max(0, end - w3.eth.get_block("latest")["timestamp"]) + 1)
    out["settle a period"] = gas(b.ops.pool.close_period())
    out["pay a share"] = gas(b.actors["payer"].pool.pay())
    out["auto-debit one member"] = gas(b.ops.pool.collect([b.actors["juror1"].address]))
    return out


def claim_steps(b: Bench) -> dict[str, int]:
    """A claim submitted and approved (left in its notice), and a rejected one disputed and voted on."""
    out = {}
    claimant, ops = b.actors["claimant"], b.ops
    claim_receipt = claimant.claims.submit_receipt(17, False, b"\x01" * 32)
    out["claim submit"] = gas(claim_receipt)
    b.claim_id = claimant.claims.in_receipt(claim_receipt, "ClaimSubmitted")[0]["args"]["claimId"]
    out["claim approve"] = gas(ops.claims.approve(b.claim_id, b"\x02" * 32))
    disputer = b.actors["disputer"]
    did = disputer.claims.submit(18, False, b"\x03" * 32)
    ops.claims.reject(did, b"\x04" * 32)
    disputer.claims.dispute(did)
    salts = {}
    for j in ("juror1", "juror2", "juror3"):
        salts[j] = os.urandom(32)
        juror = b.actors[j]
        receipt = juror.jury.commit_hash(did, vote_commitment(did, juror.address, True, salts[j]))
    out["vote commit"] = gas(receipt)
    advance(b.w3, RULES.commit_duration)
    for j in ("juror1", "juror2", "juror3"):
        receipt = b.actors[j].jury.reveal(did, True, salts[j])
    out["vote reveal"] = gas(receipt)
    return out


CALLS = {"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"}
PRECOMPILES = {1: "ecrecover"}


def breakdown(w3: Web3, tx_hash, names: dict[str, str]) -> dict[tuple[str, str], int]:
    """Where a transaction's gas goes, from the node's struct-log trace: each step's own cost
    (a call's cost without what its callee spent) by (contract, kind), plus the intrinsic part."""
    trace = w3.provider.make_request(
        "debug_traceTransaction", [tx_hash, {"disableStorage": True, "disableMemory": True}]
    )["result"]
    tx = w3.eth.get_transaction(tx_hash)
    data = bytes(tx["input"])
    out: dict[tuple[str, str], int] = defaultdict(int)
    out[("transaction", "intrinsic (21,000 + calldata)")] = 21_000 + sum(4 if b == 0 else 16 for b in data)
    steps = trace["structLogs"]
    where = {1: names.get(tx["to"].lower(), tx["to"])}
    open_calls: list[tuple[int, int, str, str]] = []  # (step, depth, contract, callee) awaiting return
    inner: list[int] = [0]  # gas spent inside each open call
    for i, s in enumerate(steps):
        d, op = s["depth"], s["op"]
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        kind = _kind(op, s)
        if op in CALLS and nxt is not None and nxt["depth"] > d:
            callee = "0x" + s["stack"][-2].removeprefix("0x").rjust(40, "0")[-40:]
            where[d + 1] = names.get(callee.lower(), callee)
            open_calls.append((i, d, where[d], where[d + 1]))
            inner.append(0)
            continue
        if nxt is not None and nxt["depth"] == d:
            cost = s["gas"] - nxt["gas"]
            if op in CALLS:
                target = int(s["stack"][-2], 16)
                kind = PRECOMPILES.get(target, "call to an account without code")
        else:
            cost = s["gasCost"]
        out[(where[d], kind)] += cost
        inner[-1] += cost
        while open_calls and nxt is not None and nxt["depth"] == open_calls[-1][1]:
            j, _, caller, callee = open_calls.pop()
            spent = inner.pop()
            own = steps[j]["gas"] - nxt["gas"] - spent
            out[(caller, f"call into {callee}")] += own
            inner[-1] += spent + own
    return out


def _kind(op: str, step: dict) -> str:
    if op == "SSTORE":
        return "SSTORE"
    if op == "SLOAD":
        return "SLOAD"
    if op.startswith("LOG"):
        return "events (LOG)"
    if op == "KECCAK256":
        return "KECCAK256 (hashing, mapping keys)"
    if op in ("CALLDATACOPY", "CALLDATALOAD"):
        return "reading calldata"
    return "other opcodes (stack, memory, jumps, checks)"


def trace_enrolment(w3: Web3, console: Console, members: int = 20) -> None:
    """One enrollBatch of `members` founders, traced: gas per founder by contract and kind."""
    b = deploy(w3)
    enroll_population(b, 100, console)
    batch = [founder(b, 100, -1 - i) for i in range(members)]
    receipt = b.ops.membership.enroll_batch(batch, gas=members * 160_000 + 200_000)
    names = {v.lower(): k for k, v in b.deployment.addresses.items()}
    parts = breakdown(w3, receipt["transactionHash"].hex(), names)
    total = sum(parts.values())
    per = receipt["gasUsed"] // members
    table = Table(title=f"enrollBatch of {members}: gas per founder ({per:,} in all)")
    for col in ("contract", "what", "gas per founder", "share"):
        table.add_column(col, justify="right" if col in ("gas per founder", "share") else "left")
    for (contract, kind), gas_ in sorted(parts.items(), key=lambda kv: -kv[1]):
        if gas_:
            table.add_row(contract, kind, f"{gas_ / members:,.0f}", f"{gas_ / total:.1%}")
    console.print(table)
    console.print(f"trace total {total:,}, receipt {receipt['gasUsed']:,}")


@click.command()
@click.option("--members", default="100,1000,10000", help="Comma-separated member counts.")
@click.option("--rpc", default=None, help="A dev node with anvil's accounts; default: start anvil.")
@click.option("--trace", is_flag=True, help="Instead: where one founder's enrolment gas goes (a trace).")
def main(members: str, rpc: str | None, trace: bool) -> None:
    counts = [int(x.replace("_", "")) for x in members.split(",") if x.strip()]
    console = Console()
    results: dict[int, dict[str, int]] = {}

    def run(url: str) -> None:
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 120}))
        if trace:
            return trace_enrolment(w3, console)
        for n in counts:
            results[n] = measure(w3, n, console)

    if rpc:
        run(rpc)
    else:
        with anvil(*(["--steps-tracing"] if trace else [])) as url:
            run(url)
    if trace:
        return

    table = Table(title="Gas per step by number of members")
    table.add_column("step")
    for n in counts:
        table.add_column(f"{n:,} members", justify="right")
    table.add_column("max/min", justify="right")
    worst = 1.0
    for step in STEPS:
        values = [results[n][step] for n in counts]
        ratio = max(values) / min(values)
        worst = max(worst, ratio)
        table.add_row(step, *(f"{v:,}" for v in values), f"{ratio:.4f}")
    console.print(table)
    print(f"max/min gas ratio across member counts: {worst:.2f}")


if __name__ == "__main__":
    main()
