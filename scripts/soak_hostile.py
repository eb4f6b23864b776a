"""Every attack of issue 16 at once against a 4-validator consortium while `hubao simulate` runs a
small population; the attacks must change nothing that is committed.

One network (`hubao net init`: 4 validators, member-0 for the simulator, member-1 and member-2
stopped: their identities are the hostile peers'), ports below the ephemeral range. First a calm
`hubao simulate` of the seed (start 2031-01-01): the reference report. Then every attack starts
(scripts/soak/: slow HTTP clients and the per-address connection cap, filter and subscription
floods, pool floods with oversized, nonce-gap and over-cap transactions, heavy eth_call batches,
strangers before p2p authentication, QBFT junk and future floods, evidence abuse over JSON-RPC
and gossip) and the same seed runs again, start four years later each time, until `--seconds`
have passed (at least once; starts stay before 2100, so the leap years fall alike). Each run's
committed outcome (harness/reports.py, as tests/simulation/test_simulate.py compares it) must
equal the calm one's. Meanwhile an honest client asks every running node `eth_blockNumber` every
50 ms and each node's memory is sampled every second, calm and attacked alike.

Exit code 1 if a report differs, a node died, an attack got an answer its bound does not allow,
or a bound below was missed; the table says which. Ctrl-C stops everything and takes the network
down. The attacks' code is the hostile tests' (harness/attacks.py, harness/peernet.py).

    .venv/bin/python scripts/soak_hostile.py [--seconds 180] [--seed 7] [--members 12] [--json-out F]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from soak.measure import Phase, alive
from soak.peer_attacks import EvidenceGossip, PreAuthFlood, QbftFlood
from soak.rpc_attacks import (
    EvidenceUploads,
    FilterFlood,
    HeavyCalls,
    HttpSlowClients,
    PoolFlood,
    SubscriptionFlood,
)

from consortium.network.processes import HUBAO
from consortium.simulation.params import SimConfig
from consortium.simulation.population import joiners
from harness.peernet import start_network
from harness.reports import differences

HONEST_P99 = 0.2  # s: issue 16's bound for an honest eth_blockNumber, on every node, under attack
RSS_GROWTH_MIB = 150  # MiB a node may grow over the attacked phase (the future buffer alone: 64)
BLOCK_WAIT = 5.0  # s: longest wait for a block (a round change takes the 4 s request timeout)
BLOCK_RATE = 0.8  # share of the calm rate the attacked network keeps, with nothing but attacks to do
IDLE = 5.0  # s at least, in each phase, with nothing but the attacks: the empty-block heartbeat
ATTACKERS = 8  # the network's last user accounts: the attackers'
SIM = ["--incidence", "4", "--fraud-rate", "0.3", "--default-rate", "2", "--waiting-days", "10",
       "--no-measure-node", "--json"]  # fmt: skip
KINDS = (HttpSlowClients, FilterFlood, SubscriptionFlood, PoolFlood, HeavyCalls, EvidenceUploads,
         PreAuthFlood, QbftFlood, EvidenceGossip)  # fmt: skip
KEYS = ", ".join(kind.key for kind in KINDS)
RUNNING = ["validator-0", "validator-1", "validator-2", "validator-3", "member-0"]


def simulate(root: Path, out: Path, args, year: int, procs: list) -> dict:
    """One `hubao simulate` of the seed on the network, starting on 1 January of `year`."""
    command = [*HUBAO, "simulate", "--network", str(root), "--out", str(out), "--seed", str(args.seed),
               "--members", str(args.members), "--months", str(args.months), "--start", f"{year}-01-01",
               *SIM]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(proc)
    stdout, stderr = proc.communicate(timeout=900)
    procs.remove(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"hubao simulate ({year}) exited {proc.returncode}: {stderr[-2000:]}")
    return json.loads(stdout)


def attacks(net, stop: threading.Event, keys: list[str]) -> list:
    """The attacks named by `keys` (all: every one), ready to start."""
    users = net.accounts["users"][-ATTACKERS:]
    every = [
        HttpSlowClients(net, stop), FilterFlood(net, stop), SubscriptionFlood(net, stop),
        PoolFlood(net, stop, users[0:3]), HeavyCalls(net, stop), EvidenceUploads(net, stop, users[3:7]),
        PreAuthFlood(net, stop, "member-1"), QbftFlood(net, stop, "member-1", byzantine="validator-3"),
        EvidenceGossip(net, stop, "member-2", users[7]),
    ]  # fmt: skip
    unknown = set(keys) - {a.key for a in every} - {"all"}
    if unknown:
        raise SystemExit(f"unknown attack {', '.join(sorted(unknown))}: {', '.join(a.key for a in every)}")
    return [a for a in every if "all" in keys or a.key in keys]


def say(began: float, what: str) -> None:
    print(f"[{time.monotonic() - began:6.1f} s] {what}", file=sys.stderr, flush=True)


def soak(args, workdir: Path, procs: list) -> dict:
    began = time.monotonic()
    needed = args.members + joiners(SimConfig(members=args.members, months=args.months)) + ATTACKERS
    net = start_network(workdir / "net", members=3, users=needed, block_period=0.1,
                        extra=("--movable-clock", "--timescale", "60"))  # fmt: skip
    stop = threading.Event()
    running: list = []
    try:
        net.stop("member-1")
        net.stop("member-2")
        say(began, f"network up in {net.root}; calm run of seed {args.seed}")
        with Phase(net, RUNNING) as calm:
            with calm.window("idle"):
                time.sleep(IDLE)
            with calm.window("simulate"):
                reference = simulate(net.root, workdir / "calm", args, 2031, procs)
        running = attacks(net, stop, args.attacks.split(","))
        for attack in running:
            attack.start()
        say(began, f"{len(running)} attacks started; the seed again, under attack, for {args.seconds:.0f} s")
        runs, year, deadline = [], 2035, time.monotonic() + args.seconds
        with Phase(net, RUNNING) as attacked:
            while not runs or (time.monotonic() < deadline - IDLE and year < 2100):
                with attacked.window("simulate"):
                    runs.append(simulate(net.root, workdir / f"attacked-{year}", args, year, procs))
                year += 4
            with attacked.window("idle"):
                stop.wait(max(IDLE, deadline - time.monotonic()))
            stop.set()
            say(began, f"{len(runs)} attacked run(s) done; stopping the attacks")
            for attack in running:
                attack.join(60)
        return {"calm": calm.result(), "attacked": attacked.result(), "reference": reference, "runs": runs,
                "attacks": [a.summary() | extra(a) for a in running],
                "alive": {n: alive(net, n) for n in RUNNING}}  # fmt: skip
    finally:
        stop.set()
        for attack in running:
            attack.join(30)
        say(began, "taking the network down")
        net.down()


def extra(attack) -> dict:
    notifications = getattr(attack, "notifications", None)
    return {} if notifications is None else {"notifications": notifications}


def verdicts(found: dict) -> list[str]:
    """Every way the soak failed, one line each (empty: it passed)."""
    bad = [f"run {i + 1}: {line}" for i, run in enumerate(found["runs"])
           for line in differences(found["reference"], run, shared=True)]  # fmt: skip
    bad += [f"{n} died" for n, ok in found["alive"].items() if not ok]
    calm, attacked = found["calm"], found["attacked"]
    for name, node in attacked["nodes"].items():
        if node["died"]:
            bad.append(f"{name} was not running at some point of the attacked phase")
        if node["p99"] is None or node["p99"] >= HONEST_P99 or node["errors"]:
            bad.append(
                f"{name}: honest p99 {node['p99']} s, {node['errors']} errors (bound {HONEST_P99} s, 0)"
            )
        before = calm["nodes"][name]["rss_last"]  # the attacks start before the phase's first sample
        if node["rss_last"] - before >= RSS_GROWTH_MIB:
            bad.append(f"{name}: RSS {before:.0f} -> {node['rss_last']:.0f} MiB")
    if attacked["longest_block_wait"] >= BLOCK_WAIT:
        bad.append(f"a block took {attacked['longest_block_wait']:.1f} s (bound {BLOCK_WAIT} s)")
    idle, normal = attacked["blocks_per_second_idle"] or 0.0, calm["blocks_per_second_idle"] or 0.0
    if idle < BLOCK_RATE * normal:
        bad.append(f"blocks/s with nothing else to do: {idle:.2f} under attack, {normal:.2f} calm")
    for a in found["attacks"]:
        if a["wrong"] or a["errors"] or not a["sent"]:
            bad.append(
                f"{a['attack']}: {a['sent']} sent, {a['wrong']} wrong, {a['errors']} errors {a['samples']}"
            )
    return bad


def show(found: dict, bad: list[str], console: Console) -> None:
    table = Table(title="attacks (all at once)")
    for column in ("attack", "target", "rounds", "sent", "refused", "accepted", "wrong", "errors"):
        table.add_column(column, justify="left" if column in ("attack", "target") else "right")
    for a in found["attacks"]:
        table.add_row(a["attack"], a["target"], *(str(a[k]) for k in ("rounds", "sent", "refused", "accepted",
                      "wrong", "errors")))  # fmt: skip
    console.print(table)
    nodes = Table(title="nodes: honest eth_blockNumber every 50 ms; resident memory")
    for column in ("node", "p50 calm", "p99 calm", "p50 attacked", "p99 attacked", "errors", "RSS calm",
                   "RSS attacked (half-time / peak / last)"):  # fmt: skip
        nodes.add_column(column, justify="left" if column == "node" else "right")
    calm, attacked = found["calm"]["nodes"], found["attacked"]["nodes"]
    for name in attacked:
        c, a = calm[name], attacked[name]
        nodes.add_row(name, ms(c["p50"]), ms(c["p99"]), ms(a["p50"]), ms(a["p99"]), str(a["errors"]),
                      f"{c['rss_first']:.0f} -> {c['rss_last']:.0f}",
                      f"{a['rss_half']:.0f} / {a['rss_peak']:.0f} / {a['rss_last']:.0f}")  # fmt: skip
    console.print(nodes)
    for phase in ("calm", "attacked"):
        p = found[phase]
        console.print(f"{phase}: {p['seconds']:.0f} s; blocks/s {rate(p['blocks_per_second_idle'])} idle, "
                      f"{rate(p['blocks_per_second_simulate'])} while simulating; longest wait for a block "
                      f"{p['longest_block_wait']:.2f} s")  # fmt: skip
    walls = [r["run"]["wall_seconds"] for r in found["runs"]]
    same = not any(line.startswith("run") for line in bad)
    console.print(f"simulate: calm {found['reference']['run']['wall_seconds']} s; {len(walls)} attacked "
                  f"run(s) {walls} s; the same committed outcome in every one: {same}")  # fmt: skip
    for line in bad:
        console.print(f"[red]FAILED[/red] {line}")
    console.print("[green]soak passed[/green]" if not bad else f"[red]{len(bad)} failure(s)[/red]")


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=180, help="attacked phase, at least (default 180)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--members", type=int, default=12, help="simulated founding members (default 12)")
    parser.add_argument("--months", type=int, default=1, help="simulated months per run (default 1)")
    parser.add_argument("--attacks", default="all", help="comma-separated keys (default all): " + KEYS)
    parser.add_argument("--dir", type=Path, help="keep the network, its logs and the reports here")
    parser.add_argument("--json-out", type=Path, help="write every figure here as JSON")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill is a Ctrl-C: clean up
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="hubao-soak-") as tmp:
        workdir = args.dir or Path(tmp)
        try:
            found = soak(args, workdir, procs)
        except KeyboardInterrupt:
            print("interrupted: the network is down", file=sys.stderr)
            sys.exit(130)
        finally:
            for proc in procs:
                proc.kill()
    bad = verdicts(found)
    show(found, bad, Console())
    if args.json_out:
        args.json_out.write_text(json.dumps(found | {"failures": bad}, indent=1))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
