"""`hubao node run`: a dev chain (--dev) or one consortium node (--config FILE)."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from consortium.nodes.limits import limit_options, pop_limits
from node.calls.worker import GAS_CAP, CallLimits
from node.errors import NodeError, RpcError
from node.rpc.jwt import JwtError
from node.trace.config import parse_duration

if TYPE_CHECKING:
    from consortium.network.config import RpcSettings


@click.group()
def node() -> None:
    """Run a Hubao node."""


def _names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated flag value as a tuple of names (None: the flag was not given)."""
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())


def rpc_options(fn):
    """The JSON-RPC listener's flags (docs/nodes.md); each, when given, overrides node.toml [rpc]."""
    options = [
        click.option("--rpc-host", "--host", "host",
                     help="Address JSON-RPC listens on [default: 127.0.0.1]."),
        click.option("--rpc-port", "--port", "port", type=click.IntRange(0, 65535),
                     help="JSON-RPC HTTP+WS port (0: any free) [default: 8545, or node.toml]."),
        click.option("--rpc-api", "api", callback=lambda c, p, v: _names(v),
                     help="Namespaces served, comma-separated [default: all on --dev, eth,net,web3 on "
                          "a consortium node]."),
        click.option("--rpc-vhosts", "vhosts", callback=lambda c, p, v: _names(v),
                     help="Host names requests may name (Host header); IP addresses always pass; "
                          "* allows any [default: localhost]."),
        click.option("--rpc-cors", "cors", callback=lambda c, p, v: _names(v),
                     help="Origins browsers may call from (CORS), comma-separated [default: none]."),
        click.option("--rpc-jwt-secret", "jwt_secret", type=click.Path(dir_okay=False, path_type=Path),
                     help="Hex secret file: administrative namespaces beyond loopback need a JWT "
                          "signed with it (`hubao node jwt-secret FILE` makes one)."),
        click.option("--revert-reason/--no-revert-reason", "revert_reason", default=None,
                     help="Record reverted transactions' revert data in receipts [default: on]."),
        click.option("--rpc-read-header-timeout", "read_header_timeout", type=click.FloatRange(min=0.1),
                     help="Seconds a request's headers may take [default: 10]."),
        click.option("--rpc-read-timeout", "read_timeout", type=click.FloatRange(min=0.1),
                     help="Seconds a whole request may take to arrive [default: 30]."),
        click.option("--rpc-idle-timeout", "idle_timeout", type=click.FloatRange(min=0.1),
                     help="Seconds a kept-alive connection may sit idle [default: 120]."),
        click.option("--rpc-max-connections", "max_connections", type=click.IntRange(min=1),
                     help="Open JSON-RPC connections, HTTP and WebSocket [default: 256]."),
        click.option("--rpc-max-connections-per-ip", "max_connections_per_ip", type=click.IntRange(min=1),
                     help="Of them, from one client address [default: 64]."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


@node.command()
@click.option("--dev", is_flag=True, help="Single-node dev chain (chain id 1337) with funded test accounts.")
@click.option("--config", "config_path", type=click.Path(exists=True), help="Consortium node config (TOML).")
@rpc_options
@click.option("--datadir", type=click.Path(), help="Chain data directory (default: a temporary one).")
@click.option("--block-time", type=float, default=0, help="Seconds between blocks (0: a block per arrival).")
@click.option("--accounts", default=10, show_default=True, help="Number of funded dev accounts.")
@click.option(
    "--chain-id", type=click.IntRange(1, 2**63 - 1), default=1337, show_default=True, help="Dev chain id."
)
@click.option(
    "--rpc-gas-cap",
    type=click.IntRange(0),
    default=GAS_CAP,
    show_default=True,
    help="Most gas an eth_call or eth_estimateGas may use (geth's --rpc.gascap; 0: no cap).",
)
@click.option(
    "--rpc-evm-timeout",
    default="5s",
    show_default=True,
    help="Longest an eth_call or eth_estimateGas may run, e.g. 5s, 500ms (geth's --rpc.evmtimeout; 0: none).",
)
@click.option("-v", "--verbose", is_flag=True)
@limit_options  # the node's bounds: --tx-gas-cap, --txpool-*, ... (consortium/nodes/limits.py)
def run(
    dev: bool,
    config_path: str | None,
    datadir: str | None,
    block_time: float,
    accounts: int,
    chain_id: int,
    rpc_gas_cap: int,
    rpc_evm_timeout: str,
    verbose: bool,
    **flags,
) -> None:
    """Run a node and serve JSON-RPC over HTTP and WebSocket on one port."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("eth").setLevel(logging.WARNING)
    call_limits = CallLimits(rpc_gas_cap, _duration(rpc_evm_timeout))
    limits = pop_limits(flags)  # what is left are the JSON-RPC listener's flags
    if config_path:
        run_from_config(config_path, flags, call_limits, limits)
    elif dev:
        from consortium.network.config import RpcSettings

        settings = RpcSettings(api=None).overridden(**flags)  # the dev node serves every namespace
        run_dev(settings, datadir, block_time, accounts, chain_id, call_limits, limits)
    else:
        raise click.UsageError("give --dev for a dev chain or --config FILE for a consortium node")


def _duration(text: str) -> float:
    """Seconds from "5s", "500ms", "1m30s" (Go's durations, as geth takes them) or a plain number."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text)
    except RpcError:
        raise click.BadParameter(
            f"{text!r} is not a duration such as 5s or 500ms", param_hint="--rpc-evm-timeout"
        ) from None


@node.command("jwt-secret")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the secret in PATH.")
def jwt_secret(path: Path, force: bool) -> None:
    """Create a JWT secret file (32 random bytes as hex, mode 0600) for --rpc-jwt-secret; give the
    same file to the tools that call administrative methods (--jwt-secret, HUBAO_JWT_SECRET)."""
    from node.rpc.jwt import write_secret

    try:
        write_secret(path, force)
    except (FileExistsError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote a JWT secret to {path} (mode 0600)")


def _stop_on_signals() -> asyncio.Event:
    """An event SIGINT and SIGTERM set from now on (installed before the node starts, so a signal
    right after its banner still ends it cleanly)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def run_dev(
    settings: RpcSettings,
    datadir: str | None,
    block_time: float,
    accounts: int,
    chain_id: int = 1337,
    call_limits: CallLimits | None = None,
    limits: dict | None = None,
) -> None:
    """Run a dev node until SIGTERM/SIGINT; a temporary datadir is removed afterwards."""
    from consortium.nodes.dev import DEV_LIMITS, DevNode

    host, port = settings.host, settings.port
    try:
        access = settings.access()
    except JwtError as exc:
        raise click.ClickException(str(exc)) from exc
    temporary = datadir is None
    datadir = datadir or tempfile.mkdtemp(prefix="hubao-dev-")
    try:
        dev_node = DevNode(
            datadir,
            accounts,
            block_time,
            chain_id,
            call_limits,
            settings.revert_reason,
            DEV_LIMITS.updated(**(limits or {})),
        )
        dev_node.core.chain.calls.run_in_process()  # a node process: calls beside its loop, not on it
    except NodeError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> None:
        stop = _stop_on_signals()
        try:
            await dev_node.start(host, port, access, settings.limits)
        except (OSError, NodeError) as exc:
            await dev_node.stop()
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise click.ClickException(f"cannot listen on {host}:{port}: {why}") from exc
        dev_node.core.chain.calls.start_worker()  # serving now: the first call need not wait for it
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


def run_from_config(
    path: str,
    rpc_flags: dict | None = None,
    call_limits: CallLimits | None = None,
    limits: dict | None = None,
) -> None:
    """Run a consortium node until SIGTERM/SIGINT; flags given override node.toml [rpc] and
    [limits]. An unusable config or a busy port is one line and exit code 1."""
    import dataclasses
    import tomllib

    from consortium.network.config import load_config
    from consortium.nodes.consortium import ConsortiumNode

    try:
        config = load_config(path)
        config = dataclasses.replace(config, rpc=config.rpc.overridden(**(rpc_flags or {})))
        config.rpc.access()
        config.limits = config.limits.updated(**(limits or {}))
        config.secret()
    except KeyError as exc:
        raise click.ClickException(f"{path}: missing setting {exc}") from exc
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:  # JwtError and ConfigError too
        raise click.ClickException(f"{path}: {exc}") from exc
    logging.getLogger().setLevel(config.log_level)
    log = logging.getLogger("consortium.node")

    async def main() -> None:
        cnode = ConsortiumNode(config)
        cnode.core.chain.calls.run_in_process()  # a node process: calls beside its loop, not on it
        if call_limits is not None:
            cnode.core.chain.calls.set_limits(call_limits)
        stop = _stop_on_signals()
        await cnode.start()
        cnode.core.chain.calls.start_worker()  # serving now: the first call need not wait for it
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
    from consortium.nodes.archive import export_command, import_command, reexecute_command

    node.add_command(export_command)
    node.add_command(import_command)
    node.add_command(reexecute_command)


_add_archive_commands()
