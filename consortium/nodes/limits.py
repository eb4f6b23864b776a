"""The node's limits on the command line: one `hubao node run` option per field of
node.limits.NodeLimits (`--txpool-global-slots`), overriding node.toml's `[limits]` table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from node.limits import limit_fields


def limit_options(command: Callable) -> Callable:
    """Add every limit as an option (default: node.toml's value, else the built-in default)."""
    for name, kind, default, text, zero_is_off in reversed(limit_fields()):
        low = 0 if zero_is_off else 1
        number = click.IntRange(min=low) if kind is int else click.FloatRange(min=0, min_open=not zero_is_off)
        option = click.option(
            "--" + name.replace("_", "-"),
            name,
            type=number,
            default=None,
            help=f"{text} [default: {default:g}; node.toml [limits] {name}]",
        )
        command = option(command)
    return command


def pop_limits(values: dict[str, Any]) -> dict[str, Any]:
    """Take the limit options out of a command's keyword arguments (None: not given)."""
    return {name: values.pop(name) for name, *_ in limit_fields() if name in values}
