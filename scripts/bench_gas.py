#!/usr/bin/env python3
"""Gas of each member-facing step at growing membership: nothing in the suite loops over members,
so the gas of joining, claiming, reviewing, voting, settling a period and paying a share must not
change with the number of members.

    scripts/bench_gas.py                       # 100, 1,000 and 10,000 members on a fresh anvil
    scripts/bench_gas.py --members 100,100000  # any counts
    scripts/bench_gas.py --rpc http://...      # any dev node whose first accounts are the anvil ones

Populations are built with Membership.enrollBatch. The last line is the figure that matters:
max/min gas ratio across member counts (must stay at or under 1.02)."""

from __future__ import annotations

import os
import subprocess
import time
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
    sign_permit,
    vote_commitment,
)
from consortium.network.processes import free_port
from consortium.operator.enrollment import month_start

ROOT = Path(__file__).resolve().parent.parent

# anvil's dev accounts (the "test test ... junk" mnemonic)
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]
BATCH = 250
STEPS = ["join (with permit)", "claim submit", "claim approve", "claim finalize", "settle a period",
         "pay a share", "auto-debit one member", "vote commit", "vote reveal"]  # fmt: skip
RULES = Rules(min_votes=3)


@contextmanager
def anvil():
    port = free_port()
    proc = subprocess.Popen(
        [str(ROOT / "node_modules/.bin/anvil"), "--port", str(port), "--silent", "--gas-limit", "60000000"],
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

    def permit(self, name: str, deadline: int):
        d = self.deployment
        owner = Account.from_key(self.keys[name]).address
        return sign_permit(
            self.keys[name],
            owner,
            d.addresses["pool"],
            MAX_ALLOWANCE,
            0,
            deadline,
            self.chain,
            d.addresses["token"],
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
    """The actors first (with permits), so they wait out their waiting period with everybody else;
    then the rest of the population in batches."""
    for s in b.actors.values():
        b.ops.token.mint(s.address, 10_000_000)
    deadline = b.now + 365 * DAY
    b.ops.membership.enroll_batch(
        [(*b.attestation(s.address), b.permit(n, deadline)) for n, s in b.actors.items()]
    )
    b.ops.jury.qualify([b.actors[j].address for j in ("juror1", "juror2", "juror3")])
    population = members - len(b.actors)
    started = time.monotonic()
    pending = []
    for first in range(0, population, BATCH):
        batch = []
        for i in range(first, min(first + BATCH, population)):
            member = to_checksum_address(keccak(text=f"bench member {members} {i}")[:20])
            batch.append((*b.attestation(member), None))
        pending.append(b.ops.membership.enroll_batch(batch, wait=False, gas=BATCH * 110_000 + 200_000))
    b.ops.tx.wait_all(pending)
    assert b.ops.pool.book().sharing == members
    console.log(f"{members:,} members enrolled in {time.monotonic() - started:.1f}s")


def measure(w3: Web3, members: int, console: Console) -> dict[str, int]:
    """Deploy afresh, enroll `members`, then run each step once and record its gas."""
    b = deploy(w3)
    enroll_population(b, members, console)
    advance(w3, RULES.waiting_period + 1)
    out: dict[str, int] = {}
    newcomer = Suite(w3, b.deployment, b.keys["newcomer"])
    now = w3.eth.get_block("latest")["timestamp"]
    a, sig = b.attestation(newcomer.address, expiry=now + DAY)
    out["join (with permit)"] = gas(newcomer.membership.join(a, sig, b.permit("newcomer", now + DAY)))
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


@click.command()
@click.option("--members", default="100,1000,10000", help="Comma-separated member counts.")
@click.option("--rpc", default=None, help="A dev node with anvil's accounts; default: start anvil.")
def main(members: str, rpc: str | None) -> None:
    counts = [int(x.replace("_", "")) for x in members.split(",") if x.strip()]
    console = Console()
    results: dict[int, dict[str, int]] = {}

    def run(url: str) -> None:
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 120}))
        for n in counts:
            results[n] = measure(w3, n, console)

    if rpc:
        run(rpc)
    else:
        with anvil() as url:
            run(url)

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
