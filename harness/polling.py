"""The one bounded wait the harness and the tests use: poll a condition, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(
    predicate: Callable[[], Any],
    timeout: float = 30.0,
    what: str = "condition",
    every: float = 0.2,
    detail: Callable[[], Any] | None = None,
) -> Any:
    """`predicate()`'s first true value, polled every `every` seconds; AssertionError naming `what`
    (and `detail()`, e.g. the nodes' heights) if it is not reached within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f": {detail()}" if detail is not None else ""
            raise AssertionError(f"{what} not reached in {timeout:.0f}s{extra}")
        time.sleep(every)
