"""eth_simulateV1 as geth answers it: the options from JSON ({blockStateCalls: [{blockOverrides,
stateOverrides, calls}], traceTransfers, validation, returnFullTransactions}) with geth's limits,
run on the call worker (node/calls/simulate.py), and each simulated block as geth's block JSON
plus its `calls`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node.abc import ChainAPI
from node.calls.simulate import CLIENT_LIMIT, SimBlock, SimResult, Simulation
from node.errors import RpcError
from node.rpc import overrides, params, txargs
from node.rpc.format import block_json, hb, hx

MAX_BLOCKS = 256
MAX_CALLS_PER_BLOCK = 5_000
MAX_CALLS = 10_000
OPTIONS = {"blockStateCalls", "traceTransfers", "validation", "returnFullTransactions"}
BLOCK_KEYS = {"blockOverrides", "stateOverrides", "calls"}


def _bad(message: str) -> RpcError:
    return params.bad(f"invalid argument 0: {message}")


def _flag(options: dict, key: str) -> bool:
    value = options.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(
            f"json: cannot unmarshal {type(value).__name__} into Go struct field simOpts.{key} of type bool"
        )
    return value


def parse(value: Any) -> tuple[list[SimBlock], dict[str, bool]]:
    if not isinstance(value, dict):
        raise _bad("json: cannot unmarshal non-object into Go value of type ethapi.simOpts")
    unknown = sorted(set(value) - OPTIONS)
    if unknown:
        raise _bad(f"unknown simulation option {unknown[0]!r} (known: {', '.join(sorted(OPTIONS))})")
    raw = value.get("blockStateCalls") or []
    if not isinstance(raw, list):
        raise _bad("json: cannot unmarshal non-array into Go struct field simOpts.blockStateCalls")
    if not raw:
        raise params.bad("empty input")
    if len(raw) > MAX_BLOCKS:
        raise RpcError(CLIENT_LIMIT, "too many blocks")
    blocks, total = [], 0
    for entry in raw:
        block = _block(entry)
        total += len(block.calls)
        if len(block.calls) > MAX_CALLS_PER_BLOCK:
            raise RpcError(
                CLIENT_LIMIT, f"too many calls in block: {len(block.calls)} > {MAX_CALLS_PER_BLOCK}"
            )
        if total > MAX_CALLS:
            raise RpcError(CLIENT_LIMIT, f"too many calls: {total} > {MAX_CALLS}")
        blocks.append(block)
    flags = {key: _flag(value, key) for key in ("traceTransfers", "validation", "returnFullTransactions")}
    return blocks, flags


def _block(entry: Any) -> SimBlock:
    if not isinstance(entry, dict):
        raise _bad("json: cannot unmarshal non-object into Go value of type ethapi.simBlock")
    unknown = sorted(set(entry) - BLOCK_KEYS)
    if unknown:
        raise _bad(
            f"unknown field {unknown[0]!r} in a block state call (known: {', '.join(sorted(BLOCK_KEYS))})"
        )
    calls = entry.get("calls") or []
    if not isinstance(calls, list):
        raise _bad("json: cannot unmarshal non-array into Go struct field simBlock.calls")
    block = overrides.block_overrides(entry.get("blockOverrides"), 0)
    return SimBlock(
        block if block is not None else SimBlock().block,
        overrides.state_overrides(entry.get("stateOverrides"), 0),
        [txargs.parse(call) for call in calls],
    )


def _log(entry: tuple, header: Any, tx: Any, index: int) -> dict:
    address, topics, data, log_index = entry
    return {
        "address": hb(address),
        "topics": [hb(t.to_bytes(32, "big")) for t in topics],
        "data": hb(data),
        "blockNumber": hx(header.block_number),
        "transactionHash": hb(tx.hash),
        "transactionIndex": hx(index),
        "blockHash": hb(header.hash),
        "blockTimestamp": hx(header.timestamp),
        "logIndex": hx(log_index),
        "removed": False,
    }


def result_json(result: SimResult, full: bool) -> dict:
    block = result.block
    out = block_json(block, full)
    calls = []
    for index, (tx, call) in enumerate(zip(block.transactions, result.calls, strict=True)):
        item: dict[str, Any] = {
            "returnData": hb(call.output),
            "logs": [_log(entry, block.header, tx, index) for entry in call.logs],
            "gasUsed": hx(call.gas_used),
            "maxUsedGas": hx(call.max_used),
            "status": "0x0" if call.failed else "0x1",
        }
        if call.error is not None:
            message, code, data = call.error
            item["error"] = {"message": message, "code": code} | ({"data": data} if data else {})
        calls.append(item)
    out["calls"] = calls
    return out


def simulate(engine: Any, reader: Any, base: Any, blocks: list[SimBlock], flags: dict) -> list[SimResult]:
    """The simulation, on the call worker."""
    simulation = Simulation(engine, reader, flags["validation"], flags["traceTransfers"])
    return simulation.run(base, blocks)


class SimulateMethods:
    """Part of the eth namespace: eth_simulateV1."""

    def __init__(self, chain: ChainAPI, header: Callable[[Any], Any]) -> None:
        self.chain = chain
        self.header = header

    def methods(self) -> dict:
        return {"eth_simulateV1": self.simulate}

    async def simulate(self, options: Any, block: Any = None) -> list[dict]:
        blocks, flags = parse(options)
        base = self.header(block)
        results = await self.chain.calls.on_worker(simulate, base, blocks, flags)
        return [result_json(r, flags["returnFullTransactions"]) for r in results]
