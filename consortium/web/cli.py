"""`hubao web`: the notice board, "my membership" and the consortium console in a browser."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import click

from consortium.cliutil import DEFAULT_RPC, fail_on


class WebError(Exception):
    """A start-up problem: one line, exit code 1."""


@click.command("web")
@click.option(
    "--rpc",
    envvar="HUBAO_RPC",
    help=f"JSON-RPC of a node [default: the --network's member node, else {DEFAULT_RPC}].",
)
@click.option(
    "--deployment", "deployment_path", envvar="HUBAO_DEPLOYMENT",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Deployment file of the suite (scripts/deploy.py); without it only the console is shown.",
)  # fmt: skip
@click.option(
    "--network", "network_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of `hubao net init` (network.json): the console shows each of its nodes.",
)  # fmt: skip
@click.option("--nodes", help="Instead of --network: the nodes' JSON-RPC URLs, comma-separated.")
@click.option(
    "--ws", "ws_url", help="WebSocket of the node for live updates [default: the --rpc URL as ws://]."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@fail_on(WebError)
def web(rpc, deployment_path, network_dir, nodes, ws_url, host, port) -> None:
    """Serve the public notice board, the membership lookup and the consortium console."""
    from aiohttp import web as aioweb

    from consortium.web.chain import ChainSource
    from consortium.web.nodes import from_network, from_urls
    from consortium.web.server import Web, missing_assets

    missing = missing_assets()
    if missing:
        raise WebError(f"{missing[0]} is missing: run `make build` (npm ci) first")
    if network_dir and nodes:
        raise WebError("give --network DIR or --nodes URL,URL, not both")
    refs = from_network(network_dir) if network_dir else from_urls(nodes.split(",")) if nodes else []
    if rpc is None:
        members = [r for r in refs if r.role == "member"] or refs
        rpc = members[0].url if members else DEFAULT_RPC
    try:
        source = ChainSource(rpc, deployment_path)
    except (ValueError, KeyError, TypeError) as exc:
        raise WebError(f"{deployment_path} is not a deployment file ({exc})") from None
    app = Web(source, refs, ws_url or "").app()
    try:
        sock = socket.create_server((host, port))
    except OSError as exc:
        raise WebError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    bound = sock.getsockname()[1]
    click.echo(
        f"Hubao web on http://{host}:{bound} (node {rpc}, deployment {deployment_path or 'none'})", err=True
    )
    aioweb.run_app(app, sock=sock, print=None, handle_signals=True)
