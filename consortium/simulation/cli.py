"""`hubao simulate`: a year of the plan on a running consortium, reported."""

from __future__ import annotations

from pathlib import Path

import click

from consortium.cliutil import fail_on
from consortium.simulation.params import SCENARIOS, SimConfig, default_months

months_option = click.option(
    "--months", type=click.IntRange(1, 120), help="Simulated months (default 12; the launch: 27)."
)
scenario_option = click.option(
    "--scenario",
    type=click.Choice(list(SCENARIOS)),
    default="steady",
    show_default=True,
    help="; ".join(f"{name}: {what}" for name, what in SCENARIOS.items()) + ".",
)


@click.command()
@click.option(
    "--network",
    "network_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Network folder of `hubao net init` (its accounts.json and member node).",
)
@click.option("--rpc", help="JSON-RPC URL (default: the network's member node).")
@click.option(
    "--accounts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="accounts.json with deployer, operator, admins and users (default: in --network).",
)
@click.option(
    "--members", type=click.IntRange(1), default=SimConfig.members, show_default=True, help="Founding cohort."
)
@months_option
@scenario_option
@click.option(
    "--incidence",
    type=click.FloatRange(0, 10, min_open=True),
    default=SimConfig.incidence,
    show_default=True,
    help="Critical illnesses per member-year (cover is scaled down by the same factor).",
)
@click.option("--fraud-rate", type=click.FloatRange(0, 0.9), default=SimConfig.fraud_rate, show_default=True)
@click.option(
    "--default-rate",
    type=click.FloatRange(0, 10),
    default=0.03,
    show_default=True,
    help="Members per member-year who stop paying.",
)
@click.option("--juror-turnout", type=click.FloatRange(0, 1), default=0.6, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--waiting-days",
    type=click.IntRange(0, 365),
    default=90,
    show_default=True,
    help="Waiting period (the real plan's is 90 days).",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Day the plan starts, UTC (default: the next 1 January of the network's clock).",
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("sim-report"), show_default=True
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--measure-node/--no-measure-node",
    default=True,
    show_default=True,
    help="Time one node alone on the run's own blocks (capacity table, sustained/alone ratio).",
)
@fail_on(ValueError, FileNotFoundError, ConnectionError)
def simulate(
    network_dir,
    rpc,
    accounts,
    members,
    months,
    scenario,
    incidence,
    fraud_rate,
    default_rate,
    juror_turnout,
    seed,
    waiting_days,
    start,
    out,
    as_json,
    measure_node,
):
    """Drive members through the plan on a running network and write a report from the chain."""
    from consortium.simulation.chain import member_dir, member_rpc, network_nodes
    from consortium.simulation.printout import show
    from consortium.simulation.progress import Live
    from consortium.simulation.run import simulate as run

    if rpc is None and network_dir is None:
        raise ValueError("give --network DIR (from `hubao net init`) or --rpc URL with --accounts FILE")
    rpc = rpc or member_rpc(network_dir)
    accounts = accounts or (network_dir / "accounts.json" if network_dir else None)
    if accounts is None or not Path(accounts).exists():
        raise FileNotFoundError(f"no accounts file at {accounts}: pass --accounts FILE")
    config = SimConfig(
        members=members,
        months=months or default_months(scenario),
        scenario=scenario,
        incidence=incidence,
        fraud_rate=fraud_rate,
        default_rate=default_rate,
        juror_turnout=juror_turnout,
        seed=seed,
        waiting_days=waiting_days,
        start=start.date().isoformat() if start else None,
    )
    with Live(config, quiet=as_json) as live:
        nodes = network_nodes(network_dir) if network_dir else None
        node_dir = member_dir(network_dir) if network_dir else None
        result = run(
            rpc,
            accounts,
            config,
            out,
            on_tick=live.tick,
            nodes=nodes,
            measure_node=measure_node,
            node_dir=node_dir,
        )
    show(result, out, as_json)
    if not result["reconciled"] or not result["rules_held"]["held"]:
        raise SystemExit(2)
