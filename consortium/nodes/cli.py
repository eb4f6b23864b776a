"""`hubao node run`: a dev chain (--dev) or one consortium node (--config FILE)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import sys
import tempfile

import click

from consortium.nodes.limits import limit_options, pop_limits
from node.errors import NodeError


@click.group()
def node() -> None:
    """Run a Hubao node."""


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
@limit_options  # the node's bounds: --tx-gas-cap, --txpool-*, ... (consortium/nodes/limits.py)
def run(
    dev: bool,
    config_path: str | None,
    host: str,
    port: int,
    datadir: str | None,
    block_time: float,
    accounts: int,
    verbose: bool,
    **limit_values,
) -> None:
    """Run a node and serve JSON-RPC over HTTP and WebSocket on one port."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("eth").setLevel(logging.WARNING)
    limits = pop_limits(limit_values)
    if config_path:
        run_from_config(config_path, limits)
    elif dev:
        run_dev(host, port, datadir, block_time, accounts, limits)
    else:
        raise click.UsageError("give --dev for a dev chain or --config FILE for a consortium node")


def _stop_on_signals() -> asyncio.Event:
    """An event SIGINT and SIGTERM set from now on (installed before the node starts, so a signal
    right after its banner still ends it cleanly)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run_dev(
    host: str, port: int, datadir: str | None, block_time: float, accounts: int, limits: dict | None = None
) -> None:
    """Run a dev node until SIGTERM/SIGINT; a temporary datadir is removed afterwards."""
    from consortium.nodes.dev import DEV_LIMITS, DevNode

    temporary = datadir is None
    datadir = datadir or tempfile.mkdtemp(prefix="hubao-dev-")
    try:
        dev_node = DevNode(datadir, accounts, block_time, DEV_LIMITS.updated(**(limits or {})))
    except NodeError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> None:
        stop = _stop_on_signals()
        try:
            await dev_node.start(host, port)
        except OSError as exc:
            await dev_node.stop()
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        click.echo(dev_node.banner(host))
        sys.stdout.flush()
        await dev_node.core.run_until(stop)
        await dev_node.stop()
        if dev_node.core.halt_reason:
            raise click.ClickException(f"node halted: {dev_node.core.halt_reason}")

    try:
        asyncio.run(main())
    finally:
        if temporary:
            shutil.rmtree(datadir, ignore_errors=True)


def run_from_config(path: str, limits: dict | None = None) -> None:
    """Run a consortium node until SIGTERM/SIGINT. An unusable config or a busy port is one line
    and exit code 1."""
    import tomllib

    from consortium.network.config import load_config
    from consortium.nodes.consortium import ConsortiumNode

    try:
        config = load_config(path)
        config.limits = config.limits.updated(**(limits or {}))
        config.secret()
    except KeyError as exc:
        raise click.ClickException(f"{path}: missing setting {exc}") from exc
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    logging.getLogger().setLevel(config.log_level)
    log = logging.getLogger("consortium.node")

    async def main() -> None:
        cnode = ConsortiumNode(config)
        stop = _stop_on_signals()
        await cnode.start()
        await cnode.core.run_until(stop)
        log.info("stopping")
        await cnode.stop()
        if cnode.core.halt_reason:
            raise click.ClickException(f"{config.name}: node halted: {cnode.core.halt_reason}")

    try:
        asyncio.run(main())
    except (OSError, NodeError) as exc:  # a port in use, an unreadable certificate, a datadir it cannot use
        raise click.ClickException(f"{config.name}: {exc}") from exc


def _add_archive_commands() -> None:
    from consortium.nodes.archive import export_command, import_command

    node.add_command(export_command)
    node.add_command(import_command)


_add_archive_commands()
