"""What one node executes per core, measured in the same run, two ways.

`run_alone`, the yardstick: the run's own blocks executed again on one core by the node's own code
(`hubao node reexecute`, a process of its own, on a copy of a node's datadir taken after the run),
with no consensus, peers or driver: what the consortium's nodes would do if all they had to do was
execute. Every kind of block
(by the functions its transactions call) is sampled, so the plan's mix is weighed by its gas; the
rate of each kind tells the capacity table what each operation costs to execute.

`one_node_per_core`, where no datadir is at hand (`hubao simulate --rpc`): a dev node (one process,
so one core: py-evm runs under one interpreter lock) started beside the network, given the plan's
enrolments and deposits back to back, timed from the first of its blocks to the last. Those execute
faster per gas than the plan's debits, so this overstates what a node executes of the plan's mix.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from eth_account import Account
from eth_utils import keccak, to_checksum_address

from consortium.client import (
    DAY,
    MAX_ALLOWANCE,
    TIER_UNDER_40,
    Attestation,
    Params,
    Roles,
    Suite,
    connect,
    deploy_suite,
    sign_mandate,
    wait_all,
)
from consortium.client.rules import Rules
from consortium.network.processes import HUBAO, DevNode
from consortium.operator.enrollment import enroll_signed, month_start
from consortium.operator.settlement import fund_many
from consortium.simulation.chainlog import Chain

# a dev node's first funded accounts (the "test test ... junk" mnemonic, as anvil's)
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
MEMBERS = 1_000  # ten enrolment batches and five deposits: about 170 million gas
BLOCK_TIME = 0.1  # the demo's block period: blocks are full, so the node never waits
SAMPLE_GAS = 250_000_000  # of the run's gas executed again: some 20-30 s on one core
PER_KIND = 3  # at least this many blocks of each kind (all of a kind that has fewer)


def block_kinds(txs) -> dict[int, str]:
    """Block number -> the one function its plan transactions call, or "mixed" (a wave's blocks)."""
    called: dict[int, set[str]] = defaultdict(set)
    for tx in txs:
        called[tx.block].add(tx.function)
    return {n: next(iter(f)) if len(f) == 1 else "mixed" for n, f in called.items()}


def run_alone(node_dir: Path, chain: Chain, sample_gas: int = SAMPLE_GAS) -> dict:
    """Gas per second one node executes of this run's own blocks (the plan's blocks of `chain`,
    as read back), from a sample of every kind weighed by the kind's gas in the run."""
    kinds = block_kinds(chain.txs)
    gas_of = {n: chain.blocks[n]["gas"] for n in kinds}
    by_kind: dict[str, list[int]] = defaultdict(list)
    for number, kind in sorted(kinds.items()):
        by_kind[kind].append(number)
    total = sum(gas_of.values())
    share = min(1.0, sample_gas / total) if total else 1.0
    picked = {}
    for kind, numbers in by_kind.items():
        take = min(len(numbers), max(PER_KIND, math.ceil(len(numbers) * share)))
        picked[kind] = [numbers[i * len(numbers) // take] for i in range(take)]  # spread over the run
    timed = reexecuted(Path(node_dir), sorted(n for ns in picked.values() for n in ns))
    rates, seconds = {}, 0.0
    for kind, numbers in picked.items():
        spent, gas = sum(timed[n]["seconds"] for n in numbers), sum(timed[n]["gas"] for n in numbers)
        kind_gas = sum(gas_of[n] for n in by_kind[kind])
        rates[kind] = {"blocks": len(by_kind[kind]), "sampled": len(numbers), "gas": kind_gas,
                       "gas_per_second": round(gas / spent) if spent else None}  # fmt: skip
        seconds += spent * kind_gas / gas if gas else 0.0  # the kind's share of the run, at its rate
    return {
        "what": f"this run's {len(kinds):,} blocks executed again by one node ({len(timed):,} sampled)",
        "blocks": len(kinds),
        "gas": total,
        "seconds": round(seconds, 2),
        "gas_per_second": round(total / seconds) if seconds else None,
        "kinds": dict(sorted(rates.items(), key=lambda kv: -kv[1]["gas"])),
    }


def reexecuted(node_dir: Path, numbers: list[int]) -> dict[int, dict]:
    """`hubao node reexecute` on the node's datadir (a copy of it: the node keeps running)."""
    command = [*HUBAO, "node", "reexecute",
               "--datadir", str(node_dir / "data"), "--genesis", str(node_dir / "genesis.json"),
               "--blocks", ",".join(map(str, numbers))]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"hubao node reexecute failed: {run.stderr.strip()[-500:]}")
    return {r["number"]: r for r in map(json.loads, run.stdout.splitlines())}


def one_node_per_core(rules: Rules, members: int = MEMBERS) -> dict:
    """Gas per second a lone dev node executes of the plan's enrolments and deposits (no datadir)."""
    with (
        tempfile.TemporaryDirectory(prefix="hubao-alone-") as data,
        DevNode.start(Path(data) / "chain", block_time=BLOCK_TIME) as node,
    ):
        return _measure(connect(node.url), rules, members)


def _measure(w3, rules: Rules, members: int) -> dict:
    keys = {"deployer": DEV_KEYS[0], "staff": DEV_KEYS[1]}
    staff = Account.from_key(keys["staff"]).address
    roles = Roles(organisations=(staff,), operator=staff, enroller=staff, investigator=staff,
                  juror_registrar=staff, treasurer=staff, treasury=staff)  # fmt: skip
    d = deploy_suite(w3, keys["deployer"], Params(rules, roles))
    suite = Suite(w3, d, keys["staff"])
    now = w3.eth.get_block("latest")["timestamp"]
    items, accounts = [], []
    for i in range(members):
        key = keccak(text=f"hubao alone member {i}")
        member = to_checksum_address(Account.from_key(key).address)
        a = Attestation(
            member, keccak(text=f"person {i}"), TIER_UNDER_40, month_start(now + 30 * 365 * DAY), now + DAY
        )
        mandate = sign_mandate(key, member, MAX_ALLOWANCE, now + DAY, d.chain_id, d.addresses["membership"])
        items.append((a, mandate))
        accounts.append(member)
    first = w3.eth.block_number + 1
    started = time.monotonic()
    pending = enroll_signed(suite, items, wait=False) + fund_many(suite, accounts, rules.year_cap, wait=False)
    receipts = wait_all(pending)
    seconds = time.monotonic() - started
    last = max(r["blockNumber"] for r in receipts)
    gas = sum(w3.eth.get_block(n)["gasUsed"] for n in range(first, last + 1))
    return {
        "what": f"{members:,} members enrolled with mandates and funded, on a lone dev node",
        "blocks": last - first + 1,
        "gas": gas,
        "seconds": round(seconds, 2),
        "gas_per_second": round(gas / seconds),
    }
