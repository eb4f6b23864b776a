"""Scenario manifests: a network fault scenario as data (after CometBFT's test/e2e manifests).

A manifest is a TOML file: an optional [network] table, then [[steps]] run in order. Each step has
exactly one verb, its options, and optionally `after` (seconds to let pass first: a timed
perturbation; a `wait` step before it makes it condition-driven). docs/testing.md has the format.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.network import NetworkSpec

# verb -> the options it takes (besides `after`)
VERBS: dict[str, set[str]] = {
    "kill": set(),  # SIGKILL (kill -9); the node stays down until `start`
    "stop": set(),  # SIGTERM, a clean shutdown
    "start": set(),  # start again on the same config and datadir
    "restart": set(),  # stop, then start
    "pause": set(),  # SIGSTOP: frozen with its sockets open
    "resume": set(),  # SIGCONT
    "split": set(),  # cut every link between the listed nodes and the rest
    "heal": set(),  # every link up again
    "byzantine": {"attacks"},  # replace the node by a misbehaving validator on its key and datadir
    "send": {"via", "from", "to", "value", "refused"},  # `send = N` transfers
    "vote": {"add", "by"},  # qbft_proposeValidatorVote for the node, by the listed validators
    "wait": {"count", "nodes", "node", "hold", "is", "attacks", "timeout"},
    "expect": {"node", "method", "params", "equals", "at_least"},
}
WAITS = {"blocks", "halt", "synced", "receipts", "validator", "proposed", "punished"}
EXPECTS = {"rpc"}
PLACEHOLDER = re.compile(r"\{([\w-]+)\}")  # "{member-0}": that node's id; "{outsider}": that account


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    verb: str
    value: Any
    options: dict[str, Any] = field(default_factory=dict)
    after: float = 0.0

    def __str__(self) -> str:
        return f"{self.verb} {self.value}"

    def get(self, option: str, default: Any = None) -> Any:
        return self.options.get(option, default)

    def nodes(self) -> list[str]:
        """The step's value as a list of node names."""
        return [self.value] if isinstance(self.value, str) else list(self.value)


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    network: NetworkSpec
    steps: tuple[Step, ...]

    def renamed(self, mapping: dict[str, str], suffix: str) -> Manifest:
        """The same scenario with nodes renamed (validators are interchangeable: a soak permutes
        them so that every one of them gets killed, split off, voted out...)."""
        steps = tuple(
            replace(s, value=_rename(s.value, mapping), options=_rename(s.options, mapping))
            for s in self.steps
        )
        return replace(self, name=f"{self.name}{suffix}", steps=steps)


def _rename(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):  # a node's name, or a "{name}" placeholder inside a string
        renamed = PLACEHOLDER.sub(lambda m: "{" + mapping.get(m[1], m[1]) + "}", value)
        return mapping.get(renamed, renamed)
    if isinstance(value, list):
        return [_rename(v, mapping) for v in value]
    if isinstance(value, dict):
        return {_rename(k, mapping): _rename(v, mapping) for k, v in value.items()}
    return value


def load(path: Path) -> Manifest:
    data = tomllib.loads(path.read_text())
    where = path.name
    unknown = set(data) - {"description", "network", "steps"}
    if unknown:
        raise ManifestError(f"{where}: unknown top-level keys {sorted(unknown)}")
    spec_fields = {f.name for f in fields(NetworkSpec)}
    network = data.get("network", {})
    if set(network) - spec_fields:
        raise ManifestError(
            f"{where}: [network] takes {sorted(spec_fields)}, not {sorted(set(network) - spec_fields)}"
        )
    steps = tuple(_step(raw, f"{where} step {i + 1}") for i, raw in enumerate(data.get("steps", [])))
    if not steps:
        raise ManifestError(f"{where}: no [[steps]]")
    return Manifest(path.stem, data.get("description", "").strip(), NetworkSpec(**network), steps)


def _step(raw: dict, where: str) -> Step:
    verbs = [k for k in raw if k in VERBS]
    if len(verbs) != 1:
        raise ManifestError(f"{where}: exactly one verb of {sorted(VERBS)}, found {verbs}")
    verb = verbs[0]
    options = {k: v for k, v in raw.items() if k not in (verb, "after")}
    if set(options) - VERBS[verb]:
        raise ManifestError(
            f"{where}: `{verb}` takes {sorted(VERBS[verb])}, not {sorted(set(options) - VERBS[verb])}"
        )
    kinds = {"wait": WAITS, "expect": EXPECTS}.get(verb)
    if kinds and raw[verb] not in kinds:
        raise ManifestError(f"{where}: `{verb}` is one of {sorted(kinds)}, not {raw[verb]!r}")
    return Step(verb, raw[verb], options, float(raw.get("after", 0)))


def load_all(folder: Path) -> list[Manifest]:
    return [load(p) for p in sorted(folder.glob("*.toml"))]
