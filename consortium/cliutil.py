"""What every Hubao command shares: --json or rich output, passwords, one-line errors."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

password_option = click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from this file instead of a prompt.",
)


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
