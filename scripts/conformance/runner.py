"""Run the cases against each node, print a line per method and last `passed: hubao N, anvil M`.

    .venv/bin/python scripts/conformance.py                  # starts both nodes itself
    .venv/bin/python scripts/conformance.py --only hubao --json out.json

A method passes on a node when every case of it gives geth's answer; --json writes every case's
outcome (id -> null or why not), which tests/rpc uses as a ratchet.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

from conformance import nodes
from conformance.cases import CASES
from conformance.checks import Case
from conformance.world import World

NODES = {"hubao": nodes.hubao, "anvil": nodes.anvil}


def run(world: World, cases: list[Case]) -> dict[str, str | None]:
    """Each case's outcome: None when the node gave geth's answer, else why not."""
    outcomes: dict[str, str | None] = {}
    for case in cases:
        try:
            if case.before is not None:
                case.before(world)
            reply = world.rpc(case.method, *case.params(world))
            outcomes[case.id] = case.check(world, reply)
        except Exception as exc:  # a node that breaks a case must not stop the others
            outcomes[case.id] = f"{type(exc).__name__}: {str(exc)[:100]}"
        finally:
            if case.after is not None:
                with contextlib.suppress(Exception):
                    case.after(world)
    return outcomes


def by_method(cases: list[Case], outcomes: dict[str, str | None]) -> dict[str, str | None]:
    """Per method: None when all its cases pass, else the first failing case and why."""
    failing: dict[str, list[str]] = {}
    for case in cases:
        problems = failing.setdefault(case.method, [])
        if outcomes[case.id] is not None:
            problems.append(f"{case.name}: {outcomes[case.id]}")
    return {
        method: None
        if not problems
        else problems[0] + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        for method, problems in failing.items()
    }


def report(cases: list[Case], results: dict[str, dict[str, str | None]]) -> list[str]:
    per_node = {name: by_method(cases, outcomes) for name, outcomes in results.items()}
    methods = list(dict.fromkeys(case.method for case in cases))
    width = max(len(m) for m in methods) + 2
    lines = []
    for method in methods:
        cells = []
        for name, verdicts in per_node.items():
            problem = verdicts[method]
            cells.append(f"{name} {'ok  ' if problem is None else 'FAIL'}")
        problems = [f"{n}: {v[method]}" for n, v in per_node.items() if v[method] is not None]
        lines.append(f"{method:<{width}}{'   '.join(cells)}   {'; '.join(problems)[:220]}".rstrip())
    counts = {n: sum(o is None for o in outcomes.values()) for n, outcomes in results.items()}
    lines.append("cases: " + ", ".join(f"{n} {c}/{len(cases)}" for n, c in counts.items()))
    passed = {n: sum(v is None for v in verdicts.values()) for n, verdicts in per_node.items()}
    lines.append(
        "passed: " + ", ".join(f"{n} {c}" for n, c in passed.items()) + f" (of {len(methods)} methods)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(NODES), action="append", help="run against this node only")
    parser.add_argument("--json", type=Path, help="write each case's outcome here")
    args = parser.parse_args()
    chosen = args.only or list(NODES)
    results: dict[str, dict[str, str | None]] = {}
    with nodes.workdir() as tmp, contextlib.ExitStack() as stack:
        for name in chosen:
            started = time.monotonic()
            url = stack.enter_context(NODES[name](tmp))
            world = World(url).build()
            results[name] = run(world, CASES)
            print(f"# {name}: {len(CASES)} cases in {time.monotonic() - started:.1f} s", flush=True)
    for line in report(CASES, results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
