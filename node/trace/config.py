"""geth's TraceConfig / TraceCallConfig: which tracer, its options, and the timeout.

Fields are geth's; a field geth knows but this node does not implement (chain config overrides,
other tracers) and a field geth does not know are refused with -32602
and a sentence, never ignored. Wrong JSON types get Go's json texts, as geth's decoder gives them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from node.calls.overrides import BlockOverrides, StateOverrides
from node.errors import INVALID_PARAMS, SERVER_ERROR, RpcError
from node.rpc import overrides
from node.trace.abc import TracerAPI
from node.trace.call import CallTracer
from node.trace.prestate import PrestateConfig, PrestateTracer
from node.trace.struct import Budget, StructConfig, StructLogger

DEFAULT_TIMEOUT = 5.0  # geth's defaultTraceTimeout
MAX_TIMEOUT = 60.0  # the node's loop runs one trace at a time; a stranger may not hold it longer
STRUCT_FIELDS = {
    "enableMemory": "enable_memory",
    "disableStack": "disable_stack",
    "disableStorage": "disable_storage",
    "enableReturnData": "enable_return_data",
}
CALL_FIELDS = {"onlyTopCall": "only_top_call", "withLog": "with_log"}
PRESTATE_FIELDS = {
    "diffMode": "diff_mode",
    "disableCode": "disable_code",
    "disableStorage": "disable_storage",
    "includeEmpty": "include_empty",
}
GETH_ONLY_TRACERS = frozenset(
    ("4byteTracer", "flatCallTracer", "erc7562Tracer", "keccak256PreimageTracer", "muxTracer")
    + ("noopTracer", "bigramTracer", "evmdisTracer", "opcountTracer", "trigramTracer", "unigramTracer")
    + ("callTracerLegacy", "prestateTracerLegacy", "noopTracerLegacy", "4byteTracerLegacy")
)
OURS = "(callTracer, prestateTracer or the struct logger)"
_DURATION = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_JSON_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


@dataclass(frozen=True)
class TraceRequest:
    """One request's tracer factory and time: `timeout` per transaction (geth's), and at most
    MAX_TIMEOUT for the whole request, a block trace included (it holds the node's loop)."""

    make: Callable[[], TracerAPI]
    timeout: float
    tx_index: int | None = None
    started: float = field(default_factory=time.monotonic)
    state: StateOverrides | None = None  # debug_traceCall's stateOverrides (geth's format)
    block: BlockOverrides | None = None  # and blockOverrides

    def deadline(self) -> float:
        """When the next transaction's trace must stop."""
        return min(time.monotonic() + self.timeout, self.started + MAX_TIMEOUT)


def bad(arg: int, message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid argument {arg}: {message}")


def _typed(arg: int, struct: str, key: str, value: Any, kind: type) -> Any:
    if value is None:
        return kind()
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    got = _JSON_TYPES.get(type(value), "value")
    go = {bool: "bool", int: "int", str: "string"}[kind]
    raise bad(arg, f"json: cannot unmarshal {got} into Go struct field {struct}.{key} of type {go}")


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the forms geth users write ("5s", "1m30s", "500ms")."""
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise RpcError(SERVER_ERROR, f'time: invalid duration "{text}"')
    return total


def _options(arg: int, struct: str, given: dict, fields: dict[str, str]) -> dict[str, Any]:
    return {fields[k]: _typed(arg, struct, k, v, bool) for k, v in given.items() if k in fields}


def _tracer(arg: int, name: str, tracer_config: Any) -> Callable[[], TracerAPI]:
    cfg = tracer_config if tracer_config is not None else {}
    if not isinstance(cfg, dict):
        raise bad(arg, "tracerConfig must be an object")
    fields = {"callTracer": CALL_FIELDS, "prestateTracer": PRESTATE_FIELDS}.get(name)
    if fields is None:
        if name in GETH_ONLY_TRACERS:
            raise bad(arg, f"tracer {name} is not supported here {OURS}")
        raise bad(arg, f"JavaScript tracers are not supported here {OURS}")
    unknown = sorted(set(cfg) - set(fields))
    if unknown:
        raise bad(arg, f"unknown {name} option {unknown[0]} (known: {', '.join(fields)})")
    options = _options(arg, name, cfg, fields)
    if name == "callTracer":
        return lambda: CallTracer(**options)
    config = PrestateConfig(**options)
    return lambda: PrestateTracer(config)


def parse(config: Any, arg: int, call: bool = False) -> TraceRequest:
    """A TraceConfig (TraceCallConfig when `call`) as the `arg`-th parameter."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        got = _JSON_TYPES.get(type(config), "value")
        raise bad(arg, f"json: cannot unmarshal {got} into Go value of type tracers.TraceConfig")
    known = {*STRUCT_FIELDS, "limit", "tracer", "tracerConfig", "timeout"}
    if call:
        known |= {"txIndex", "stateOverrides", "blockOverrides"}
    if config.get("overrides"):
        raise bad(arg, "chain config overrides are not supported")
    unknown = sorted(set(config) - known - {"overrides"})
    if unknown:
        raise bad(arg, f"unknown trace option {unknown[0]} (tracer options go in tracerConfig)")
    timeout = DEFAULT_TIMEOUT
    if config.get("timeout") is not None:
        timeout = parse_duration(_typed(arg, "TraceConfig", "timeout", config["timeout"], str))
        if timeout > MAX_TIMEOUT:
            raise bad(arg, f"timeout {config['timeout']} is above this node's limit of {MAX_TIMEOUT:g}s")
    extra = {
        "tx_index": _tx_index(arg, config.get("txIndex")),
        "state": overrides.state_overrides(config.get("stateOverrides"), arg),
        "block": overrides.block_overrides(config.get("blockOverrides"), arg),
    }
    name = config.get("tracer")
    if name is not None and name != "":
        make = _tracer(arg, _typed(arg, "TraceConfig", "tracer", name, str), config.get("tracerConfig"))
        return TraceRequest(make, timeout, **extra)
    if config.get("tracerConfig"):
        raise bad(arg, "tracerConfig is for a named tracer; the struct logger takes its options directly")
    limit = _typed(arg, "TraceConfig", "limit", config.get("limit"), int)
    if limit < 0:
        raise bad(arg, "limit must not be negative")
    struct = StructConfig(limit=limit, **_options(arg, "TraceConfig", config, STRUCT_FIELDS))
    budget = Budget()  # shared by the struct logs of every transaction of the request
    return TraceRequest(lambda: StructLogger(struct, budget), timeout, **extra)


def _tx_index(arg: int, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        field = "Go struct field TraceCallConfig.txIndex of type hexutil.Uint"
        raise bad(arg, f"json: cannot unmarshal non-string into {field}")
    if not value.startswith(("0x", "0X")) or len(value) < 3:
        raise bad(arg, "txIndex: hex string without 0x prefix")
    try:
        return int(value, 16)
    except ValueError:
        raise bad(arg, "txIndex: invalid hex string") from None
