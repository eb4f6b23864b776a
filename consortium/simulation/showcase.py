"""What `make demo` runs: a consortium of 4 validators and a member node on loopback whose clock the
simulator moves three days at a time, a year of the plan simulated on it, the report, and the network
stopped again, also on failure or Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

from rich.console import Console

from consortium.network.genesis import QbftSettings
from consortium.simulation.params import SimConfig
from consortium.simulation.population import joiners

DEMO_DIR = Path("build/demo")
TIMESCALE = 60  # between the simulator's daily steps the clock runs a minute per real second
BLOCK_PERIOD = 0.1  # wall seconds: a day's transactions land in a fraction of a second
BASE_PORT = 30600

console = Console()


def run_demo(config: SimConfig, directory: Path = DEMO_DIR, validators: int = 4, keep: bool = False) -> dict:
    from consortium.network.layout import free_base_port, init_network, load_network
    from consortium.network.processes import start_node, stop_node, wait_for_blocks
    from consortium.simulation.chain import member_dir, member_rpc
    from consortium.simulation.printout import show
    from consortium.simulation.progress import Live
    from consortium.simulation.run import simulate

    t0 = time.monotonic()
    directory = Path(directory).resolve()  # node processes run in their own folders
    net = directory / "network"
    out = directory / "report"
    console.print(
        f"[bold]1.[/] a consortium: {validators} validators and a member node on loopback, "
        f"its clock moved three simulated days at a time by the simulator ({net})"
    )
    users = config.members + joiners(config) + 10
    if (net / "network.json").exists():  # a previous `--keep` run may still be up
        for entry in load_network(net):
            stop_node(net, entry)
    shutil.rmtree(net, ignore_errors=True)  # a fresh chain: old node data would keep the old genesis
    entries = init_network(
        net,
        validators,
        1,
        free_base_port(validators + 1, low=BASE_PORT, high=BASE_PORT + 2_000),
        None,
        8282,
        TIMESCALE,
        users,
        QbftSettings(blockperiodseconds=BLOCK_PERIOD),
        force=True,
        movable_clock=True,
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        for entry in entries:
            start_node(net, entry)
        wait_for_blocks(net, entries, height=1, timeout=120)
        console.print(f"   up in {time.monotonic() - t0:.0f} s; members use {member_rpc(net)}")
        console.print(
            f"[bold]2.[/] deploy the suite, {config.members} members join, then "
            f"{config.months} simulated months of the plan"
        )
        with Live(config) as live:
            rpc, accounts = member_rpc(net), net / "accounts.json"
            result = simulate(
                rpc, accounts, config, out, on_tick=live.tick, nodes=len(entries), node_dir=member_dir(net)
            )
        console.print("[bold]3.[/] the report, recomputed from the chain")
        show(result, out, as_json=False)
    finally:
        if not keep:
            for entry in entries:
                stop_node(net, entry)
            console.print("[bold]4.[/] network stopped")
        signal.signal(signal.SIGTERM, previous)
    console.print(f"demo done in {time.monotonic() - t0:.0f} s")
    where_next(out, net, member_rpc(net), keep)
    return result


def where_next(out: Path, net: Path, rpc: str, kept: bool) -> None:
    """Where the report is, and how to look at the same plan on the notice board."""
    console.print(f"report: {out / 'report.json'} (and report.csv, the charts) in {out}")
    board = f"hubao web --rpc {rpc} --deployment {out / 'deployment.json'}"
    if kept:
        console.print(f"the network is still running: open the notice board with `{board}`")
        console.print(f"stop the network with `hubao net down --dir {net}`")
    else:
        console.print(f"to see the plan on the notice board, run `hubao demo --keep`, then `{board}`")


def _interrupt(signum, frame):
    raise KeyboardInterrupt
