"""Cases and the checkers they are built from: a checker returns None for geth's answer, else a
short sentence saying what differs.

Shapes are geth's JSON types: "quantity" (0x hex, no leading zeros), "data" (0x, even length),
"hash" (32 bytes), "address" (20 bytes), "bool", "int" (a JSON number), None (null); a list of one
shape; a dict of key -> shape, where a key ending in "?" may be absent and every other key must
be there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.world import Reply, World

Check = Callable[[World, Reply], "str | None"]
_QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
_DATA = re.compile(r"^0x([0-9a-f]{2})*$")


@dataclass(frozen=True)
class Case:
    method: str
    name: str
    params: Callable[[World], list]
    check: Check
    before: Callable[[World], None] | None = None
    after: Callable[[World], None] | None = None  # runs whatever happened (puts a node back)

    @property
    def id(self) -> str:
        return f"{self.method}: {self.name}"


def shape_error(value: Any, shape: Any, where: str = "result") -> str | None:
    if shape is None:
        return None if value is None else f"{where} is {_short(value)}, want null"
    if isinstance(shape, str):
        return _scalar(value, shape, where)
    if isinstance(shape, list):
        if not isinstance(value, list):
            return f"{where} is {_short(value)}, want a list"
        for i, item in enumerate(value):
            if problem := shape_error(item, shape[0], f"{where}[{i}]"):
                return problem
        return None
    if not isinstance(value, dict):
        return f"{where} is {_short(value)}, want an object"
    for key, sub in shape.items():
        optional = key.endswith("?")
        name = key.rstrip("?")
        if name not in value:
            if optional:
                continue
            return f"{where} has no {name}"
        if problem := shape_error(value[name], sub, f"{where}.{name}"):
            return problem
    return None


def _scalar(value: Any, kind: str, where: str) -> str | None:
    ok = {
        "quantity": lambda v: isinstance(v, str) and bool(_QUANTITY.match(v)),
        "data": lambda v: isinstance(v, str) and bool(_DATA.match(v.lower())),
        "hash": lambda v: isinstance(v, str) and bool(_DATA.match(v.lower())) and len(v) == 66,
        "address": lambda v: isinstance(v, str) and bool(_DATA.match(v.lower())) and len(v) == 42,
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "any": lambda v: True,
    }[kind]
    return None if ok(value) else f"{where} is {_short(value)}, want {kind}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- checker builders --------------------------------------------------------------------------
def result(shape: Any, *facts: Callable[[World, Any], str | None]) -> Check:
    """A result of `shape`, and every fact about it holds (a fact returns None or a sentence)."""

    def check(world: World, reply: Reply) -> str | None:
        if reply.error is not None:
            return f"error {reply.code}: {reply.message[:80]}"
        if problem := shape_error(reply.result, shape):
            return problem
        for fact in facts:
            if problem := fact(world, reply.result):
                return problem
        return None

    return check


def error(code: int, message: str | None = None, prefix: str | None = None) -> Check:
    """An error with geth's code and text (the whole `message`, or one starting with `prefix`)."""

    def check(world: World, reply: Reply) -> str | None:
        if reply.error is None:
            return f"answered {_short(reply.result)}, want error {code}"
        if reply.code != code:
            return f"error code {reply.code} ({reply.message[:60]}), want {code}"
        if message is not None and reply.message != message:
            return f"message {reply.message[:80]!r}, want {message!r}"
        if prefix is not None and not reply.message.startswith(prefix):
            return f"message {reply.message[:80]!r}, want {prefix!r}..."
        return None

    return check


def equals(expected: Callable[[World], Any], what: Callable[[Any], Any] = lambda r: r) -> Callable:
    """A fact: `what(result)` equals `expected(world)`."""

    def fact(world: World, value: Any) -> str | None:
        want, got = expected(world), what(value)
        return None if got == want else f"{_short(got)}, want {_short(want)}"

    return fact


def holds(predicate: Callable[[World, Any], bool], sentence: str) -> Callable:
    """A fact: `predicate(world, result)`; `sentence` says what it means when it fails."""

    def fact(world: World, value: Any) -> str | None:
        try:
            return None if predicate(world, value) else sentence
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return f"{sentence} ({type(exc).__name__}: {exc})"

    return fact


def absent(*keys: str) -> Callable:
    """A fact: none of `keys` is in the result (geth leaves empty optional fields out)."""

    def fact(world: World, value: Any) -> str | None:
        present = [k for k in keys if isinstance(value, dict) and k in value]
        return f"has {', '.join(present)}, geth leaves it out" if present else None

    return fact
