"""`hubao node run`: a dev chain (--dev) or one consortium node (--config, see consortium.network.runner)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import shutil
import signal
import sys
import tempfile
import time

import click

from node.errors import NodeError
from node.genesis import DEV_BALANCE, DEV_MNEMONIC, dev_accounts, dev_genesis


@click.group()
def node() -> None:
    """Run a Hubao node."""


def print_dev_banner(
    accounts: list[tuple[str, bytes]], chain_id: int, datadir: str, host: str, port: int
) -> None:
    """The anvil-style banner: accounts, keys, mnemonic, chain id, then the listening address."""
    lines = ["", "Available Accounts", "=================="]
    lines += [f"({i}) {addr} ({DEV_BALANCE / 10**18:.6f} ETH)" for i, (addr, _) in enumerate(accounts)]
    lines += ["", "Private Keys", "=================="]
    lines += [f"({i}) 0x{key.hex()}" for i, (_, key) in enumerate(accounts)]
    lines += ["", "Wallet", "==================", f"Mnemonic:          {DEV_MNEMONIC}"]
    lines += ["Derivation path:   m/44'/60'/0'/0/", "", "Chain ID", "==================", str(chain_id)]
    lines += ["", f"Data directory: {datadir}", f"Listening on {host}:{port}", ""]
    click.echo("\n".join(lines))
    sys.stdout.flush()


async def _serve(node_obj) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await node_obj.start()
    return stop


@node.command()
@click.option("--dev", is_flag=True, help="Single-node dev chain (chain id 1337) with funded test accounts.")
@click.option("--config", "config_path", type=click.Path(exists=True), help="Consortium node config (TOML).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=8545, show_default=True, type=int, help="JSON-RPC HTTP+WS port (0: any free)."
)
@click.option("--datadir", type=click.Path(), help="Chain data directory (default: a temporary one).")
@click.option("--block-time", type=float, default=0, help="Seconds between blocks (0: a block per arrival).")
@click.option("--accounts", default=10, show_default=True, help="Number of funded dev accounts.")
@click.option("-v", "--verbose", is_flag=True)
def run(
    dev: bool,
    config_path: str | None,
    host: str,
    port: int,
    datadir: str | None,
    block_time: float,
    accounts: int,
    verbose: bool,
) -> None:
    """Run a node and serve JSON-RPC over HTTP and WebSocket on one port."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("eth").setLevel(logging.WARNING)
    if config_path:
        try:
            runner = importlib.import_module("consortium.network.runner")
        except ModuleNotFoundError as exc:
            raise click.ClickException("consortium nodes are not available in this build") from exc
        runner.run_from_config(config_path)
        return
    if not dev:
        raise click.UsageError("give --dev for a dev chain or --config FILE for a consortium node")

    from node.sealer import DevSealer
    from node.service import Node

    temporary = datadir is None
    datadir = datadir or tempfile.mkdtemp(prefix="hubao-dev-")
    keys = dev_accounts(accounts)
    try:
        node_obj = Node(
            datadir,
            dev_genesis(accounts, timestamp=int(time.time())),
            producer=DevSealer(block_time),
            host=host,
            port=port,
            dev_keys={addr: key for addr, key in keys},
        )
    except NodeError as exc:
        raise click.ClickException(str(exc)) from exc
    from consortium.evidence.service import EvidenceService

    EvidenceService(datadir).attach(node_obj)  # hubao_putEvidence / hubao_getEvidence

    async def main() -> None:
        try:
            stop = await _serve(node_obj)
        except OSError as exc:
            node_obj.store.close()
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        print_dev_banner(keys, node_obj.chain.chain_id, datadir, host, node_obj.port)
        await stop.wait()
        await node_obj.stop()

    try:
        asyncio.run(main())
    finally:
        if temporary:
            shutil.rmtree(datadir, ignore_errors=True)
