"""One simulation from start to report: deploy, drive, read the chain back, reconcile, write."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path

from consortium.client import connect
from consortium.simulation import capacity, charts, report
from consortium.simulation.alone import one_node_per_core, run_alone
from consortium.simulation.chain import NetworkAccounts
from consortium.simulation.chainlog import read_chain
from consortium.simulation.driver import Driver
from consortium.simulation.ledger import reconcile, rule_checks
from consortium.simulation.params import SimConfig
from consortium.simulation.population import check_enough
from consortium.simulation.years import against_real, calendar_years


def simulate(
    rpc: str,
    accounts_path: Path,
    config: SimConfig,
    out: Path,
    on_tick=None,
    nodes: int | None = None,
    measure_node: bool = True,
    node_dir: Path | None = None,
) -> dict:
    """Deploy, drive, read the chain back and report. `nodes`: how many nodes execute every block
    (default: the validators); `measure_node`: time one node alone, for the capacity table and the
    sustained/alone ratio (some 20-30 s): the run's own blocks executed again on a copy of the
    datadir in `node_dir` (one of the network's nodes), else a lone dev node on the plan's work."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "deployment.json").unlink(missing_ok=True)  # every run deploys its own suite
    w3 = connect(rpc, timeout=120, cache_chain_id=True)
    try:
        _ = w3.eth.chain_id
    except Exception:
        raise ConnectionError(f"no node answers at {rpc}: is the network up (`hubao net up`)?") from None
    accounts = NetworkAccounts.load(accounts_path)
    check_enough(config, len(accounts.users))  # before deploying anything
    driver = Driver(w3, accounts, config, out, on_tick=on_tick)
    deployment = driver.deploy()
    run = driver.run()
    t0 = time.monotonic()
    chain = read_chain(w3, deployment, run["last_block"], deployed_by=run["first_block"])
    run["seconds"]["reading the chain back"] = round(time.monotonic() - t0, 1)
    rows = report.period_rows(chain)
    t = report.totals(chain, rows, run["wall_seconds"], config)
    years = calendar_years(chain, rows, config)
    t0 = time.monotonic()
    if not measure_node:
        alone = None
    elif node_dir is not None:
        alone = run_alone(node_dir, chain)
    else:
        alone = one_node_per_core(deployment.rules)
    run["seconds"]["one node alone"] = round(time.monotonic() - t0, 1)
    nodes = nodes or validators(w3)
    result = {
        "config": config.to_dict(),
        "rules": asdict(deployment.rules),
        "network": {"rpc": rpc, "chain_id": deployment.chain_id, "deployment": str(out / "deployment.json")},
        "run": run,
        "totals": t,
        "periods": rows,
        "reconciliation": reconcile(w3, chain),
        "rules_held": rule_checks(chain),
        "side_by_side": report.side_by_side(t, config),
        "years": years,
        "launch_vs_real": against_real(years, config),
        "alone": alone,
        "capacity": capacity.table(chain, t, config, alone, nodes, os.cpu_count() or 1),
    }
    result["reconciled"] = result["reconciliation"]["reconciled"]
    result["charts"] = [str(p) for p in charts.draw(out, rows)]
    report.write(out, result)
    return result


def validators(w3) -> int:
    """How many validators the chain has (1 on a dev node or anvil)."""
    reply = w3.provider.make_request("qbft_getValidatorsByBlockNumber", ["latest"])
    return len(reply.get("result") or []) or 1
