"""One simulation from start to report: deploy, drive, read the chain back, reconcile, write."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from consortium.client import connect
from consortium.simulation import charts, report
from consortium.simulation.chain import NetworkAccounts
from consortium.simulation.chainlog import read_chain
from consortium.simulation.driver import Driver
from consortium.simulation.ledger import reconcile, rule_checks
from consortium.simulation.params import SimConfig
from consortium.simulation.population import check_enough


def simulate(rpc: str, accounts_path: Path, config: SimConfig, out: Path, on_tick=None) -> dict:
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
    chain = read_chain(w3, deployment, run["last_block"], deployed_by=run["first_block"])
    rows = report.period_rows(chain)
    t = report.totals(chain, rows, run["wall_seconds"], config)
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
    }
    result["reconciled"] = result["reconciliation"]["reconciled"]
    result["charts"] = [str(p) for p in charts.draw(out, rows)]
    report.write(out, result)
    return result
