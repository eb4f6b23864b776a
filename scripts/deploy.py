#!/usr/bin/env python3
"""Deploy the mutual-aid suite to any standard JSON-RPC node and write where it lives.

    scripts/deploy.py --rpc http://127.0.0.1:8545 --key-file deployer.key --out deployment.json

Re-running with the same --out against the same chain finds the suite there and does nothing."""

from __future__ import annotations

from pathlib import Path

import click

from consortium.client import (
    ContractRefusal,
    Deployment,
    connect,
    deploy_suite,
    is_deployed,
    load_params,
)


@click.command()
@click.option("--rpc", required=True, help="JSON-RPC URL of the node (http:// or https://).")
@click.option("--key", help="Deployer private key, hex.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False), help="File holding the key, hex.")
@click.option(
    "--params", "params_file", type=click.Path(exists=True, dir_okay=False), help="TOML: [rules], [roles]."
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Deployment JSON to write.")
def main(rpc: str, key: str | None, key_file: str | None, params_file: str | None, out: str) -> None:

    if (key is None) == (key_file is None):
        raise click.UsageError("give exactly one of --key and --key-file")
    if key_file:
        key = Path(key_file).read_text().strip()
    try:
        params = load_params(params_file)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    w3 = connect(rpc)
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        raise click.ClickException(f"cannot reach {rpc}: {exc}") from exc
    if Path(out).exists() and is_deployed(w3, Deployment.load(out)):
        click.echo(f"already deployed on chain {chain_id}: {out} (nothing sent)")
        return
    try:
        d = deploy_suite(w3, key, params, out)
    except ContractRefusal as refusal:
        raise click.ClickException(f"deployment refused: {refusal}") from refusal
    click.echo(f"deployed on chain {d.chain_id} at block {d.block} -> {out}")
    for name, address in d.addresses.items():
        click.echo(f"  {name:<10} {address}")


if __name__ == "__main__":
    main()
