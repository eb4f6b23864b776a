"""Which bucket a test belongs in, from the support it reaches (docs/testing.md):

  process  it starts OS processes: node processes and networks, `hubao` runs, anvil, cast, a browser
  slow     in one process, but seconds long: real timers (the in-process QBFT harness, the TLS
           transport over real sockets) or a long property search (hypothesis state machines)
  (none)   fast and in-process: what `make test-unit` runs

A test reaches what its function, its fixtures and the functions and classes of tests/ and
harness/ that they name refer to, followed transitively; process wins over slow. What this cannot
see (a process started deep inside the application, e.g. `hubao net up` through click's CliRunner)
is caught at run time: a test outside the process bucket that starts a process fails and says to
mark it.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import consortium.network.processes as node_processes
from node.p2p.transport import TlsPeerNetwork

PROCESS, SLOW = "process", "slow"


def _starters() -> dict[int, str]:
    """id(object) -> bucket, for the objects whose use puts a test in that bucket."""
    import hypothesis.stateful

    found: dict[int, str] = {id(o): PROCESS for o in (subprocess, node_processes, node_processes.HUBAO)}
    found.update({id(getattr(node_processes, n)): PROCESS for n in ("spawn", "start_node", "NodeProcess")})
    found.update({id(TlsPeerNetwork): SLOW, id(hypothesis.stateful.RuleBasedStateMachine): SLOW})
    for name in ("tests.support.anvil", "tests.qbft.harness", "selenium.webdriver"):
        module = sys.modules.get(name)
        if module is not None:
            found[id(module)] = PROCESS if name != "tests.qbft.harness" else SLOW
    harness = sys.modules.get("tests.qbft.harness")
    if harness is not None:
        found[id(harness.Consortium)] = SLOW
    return found


def bucket(item: Any, ignore: tuple[str, ...] = ()) -> str | None:
    """PROCESS, SLOW or None for one collected test item; fixtures named in `ignore` do not count."""
    starters = _starters()
    roots = [getattr(item, "obj", None), getattr(item, "cls", None)]
    info = getattr(item, "_fixtureinfo", None)
    for name, defs in info.name2fixturedefs.items() if info else ():
        if name not in ignore:
            roots.append(defs[-1].func)
    seen: set[int] = set()
    result = None
    for found in _reach(roots, starters, seen):
        if found == PROCESS:
            return PROCESS
        result = SLOW
    return result


OURS = ("tests", "harness")  # the packages whose code is followed: the tests and their harness


def _ours(obj: Any) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] in OURS


def _reach(todo: list[Any], starters: dict[int, str], seen: set[int]) -> Iterator[str]:
    while todo:
        obj = todo.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        obj = inspect.unwrap(obj) if inspect.isfunction(obj) else obj  # through @contextmanager & co
        if id(obj) in starters:
            yield starters[id(obj)]
            continue
        if inspect.isclass(obj):
            for base in obj.__mro__[1:]:
                if id(base) in starters:
                    yield starters[id(base)]
            if _ours(obj):
                todo.extend(_functions_of(obj))
        elif inspect.isfunction(obj) and _ours(obj):
            todo.extend(_named_by(obj))
        elif isinstance(obj, types.ModuleType) and obj.__name__.split(".")[0] in OURS:
            todo.extend(vars(obj).values())  # `from tests.support import x`, then x.anything


def _functions_of(cls: type) -> Iterator[Any]:
    for value in vars(cls).values():
        value = getattr(value, "__func__", value)  # staticmethod, classmethod
        if isinstance(value, property):
            yield from (f for f in (value.fget, value.fset) if f)
        elif inspect.isfunction(value) or inspect.isclass(value):
            yield value


def _named_by(func: types.FunctionType) -> Iterator[Any]:
    """What the function's code names: its globals, and the names a local `import` brings in."""
    names = set(_code_names(func.__code__))
    scope = func.__globals__
    for name in names:
        if name in scope:
            yield scope[name]
        elif name in sys.modules:  # `import x.y` / `from x.y import z` inside the function
            module = sys.modules[name]
            yield module
            yield from (getattr(module, n) for n in names if hasattr(module, n))


def _code_names(code: types.CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_names(const)
