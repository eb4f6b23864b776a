"""What every Hubao command shares: --json or rich output, passwords, one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from click.exceptions import NoArgsIsHelpError
from rich.console import Console
from rich.table import Table

from consortium.cli_types import DeploymentFile, ExistingFile, NodeUrl

console = Console()
err_console = Console(stderr=True)

password_option = click.option(
    "--password-file",
    type=ExistingFile(),
    help="Read the password from this file instead of a prompt.",
)


# ---- usage errors: one line, exit code 2 (click's convention), before anything runs ----


class OneLineUsage(click.UsageError):
    """A usage error shown as one line on stderr ("error: --illness must be ..."), exit code 2."""

    def show(self, file=None) -> None:
        click.echo(f"{click.style('error:', fg='red')} {self.format_message()}", err=True)


def _name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.metavar or (param.name or "").upper()


def usage_line(exc: click.UsageError) -> str:
    """The error as one sentence that names the parameter and, where its type knows it, the rule."""
    param = getattr(exc, "param", None)
    if isinstance(exc, click.MissingParameter) and param is not None:
        rule = getattr(param.type, "rule", "")
        text = f"{_name(param)} is required" + (f": {rule}" if rule else "")
    elif isinstance(exc, click.BadParameter) and param is not None:
        sep = " " if exc.message.startswith("must be ") else ": "
        text = f"{_name(param)}{sep}{exc.message}"
    elif isinstance(exc, click.NoSuchOption) and exc.option_name[1:2].isdigit():
        text = (
            f"{exc.option_name} is not a value here: amounts, counts and claim numbers are whole "
            "numbers from 0 up"
        )
    else:
        text = exc.format_message()
    return " ".join(text.split())


@contextmanager
def one_line_usage():
    try:
        yield
    except (NoArgsIsHelpError, OneLineUsage):
        raise  # the help text a bare group prints, or an error already made one line
    except click.UsageError as exc:
        raise OneLineUsage(usage_line(exc), exc.ctx) from None


class OneLineGroup(click.Group):
    """A command group whose usage errors (its own options' and every subcommand's) are one line."""

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        with one_line_usage():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context):
        with one_line_usage():
            return super().invoke(ctx)


def read_password(password_file: Path | None, confirm: bool = False) -> str:
    if password_file is not None:
        return password_file.read_text().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


def fail_on(*errors: type[Exception]):
    """Turn the named exceptions into one clear line on stderr and exit code 1, never a traceback."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except errors as exc:
                err_console.print(f"[red]error:[/red] {exc}", highlight=False)
                sys.exit(1)

        return inner

    return wrap


class Output:
    """Prints a result as JSON (for scripts) or as words and tables (for people)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def result(self, data: dict, words: str) -> None:
        if self.as_json:
            click.echo(json.dumps(data, default=str))
        else:
            console.print(words, highlight=False)

    def table(self, title: str, columns: list[str], rows: list[list], empty: str = "nothing") -> None:
        if self.as_json:
            click.echo(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str))
            return
        if not rows:
            console.print(empty)
            return
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(str(cell) for cell in row))
        console.print(table)


# ---- talking to a chain: every plan command takes --rpc and --deployment ----

DEFAULT_RPC = "http://127.0.0.1:8545"


_jwt_secret: list[Path] = []  # --jwt-secret as given to this command, read by `connect`


def _remember_jwt_secret(ctx, param, value: Path | None) -> None:
    _jwt_secret[:] = [value] if value is not None else []


def chain_options(fn):
    """--rpc URL, --deployment FILE (what scripts/deploy.py wrote; env HUBAO_DEPLOYMENT) and
    --jwt-secret FILE (the node's JWT secret, for its administrative methods; env HUBAO_JWT_SECRET)."""
    fn = click.option(
        "--jwt-secret",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar="HUBAO_JWT_SECRET",
        expose_value=False,
        callback=_remember_jwt_secret,
        help="The node's JWT secret file: signs calls its operator keeps behind a JWT, such as "
        "evidence uploads on a node that is not loopback-only (env HUBAO_JWT_SECRET).",
    )(fn)
    fn = click.option(
        "--deployment",
        "deployment_path",
        type=DeploymentFile(),
        envvar="HUBAO_DEPLOYMENT",
        default="deployment.json",
        show_default=True,
        help="Deployment file written by scripts/deploy.py (env HUBAO_DEPLOYMENT).",
    )(fn)
    return click.option(
        "--rpc",
        type=NodeUrl(),
        default=DEFAULT_RPC,
        show_default=True,
        envvar="HUBAO_RPC",
        help="JSON-RPC URL of a node.",
    )(fn)


class ChainUnavailable(Exception):
    """No node answers at the URL, or the deployment file does not describe its chain."""


_connections: dict = {}


def connect(rpc: str, deployment_path: Path):
    """(web3, Deployment) after checking the node answers and runs the deployment's chain."""
    from consortium.client import Deployment
    from consortium.client import connect as connect_node

    if not Path(deployment_path).exists():
        raise ChainUnavailable(
            f"no deployment file at {deployment_path}: pass --deployment FILE or set HUBAO_DEPLOYMENT"
        )
    try:
        deployment = Deployment.load(deployment_path)
    except (ValueError, KeyError, TypeError) as exc:
        raise ChainUnavailable(f"{deployment_path} is not a deployment file ({exc})") from None
    w3 = _connections.get(rpc)
    if w3 is None:  # one connection per URL per process: contract bindings are built once
        try:
            w3 = _connections[rpc] = connect_node(rpc, jwt_secret=next(iter(_jwt_secret), None))
        except (OSError, ValueError) as exc:
            raise ChainUnavailable(f"cannot use the JWT secret: {exc}") from None
    try:
        chain_id = w3.eth.chain_id
    except Exception:
        raise ChainUnavailable(f"no node answers at {rpc}: is it running?") from None
    if chain_id != deployment.chain_id:
        raise ChainUnavailable(
            f"the node at {rpc} runs chain {chain_id}, "
            f"but {deployment_path} is for chain {deployment.chain_id}"
        )
    return w3, deployment


def json_option(fn):
    """`--json` on the command itself too (`hubao wallet status --json`), as on its group."""
    import functools

    @functools.wraps(fn)
    def inner(obj, *args, json_output: bool = False, **kwargs):
        if json_output:
            obj["out"] = Output(True)
        return fn(obj, *args, **kwargs)

    return click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")(inner)
