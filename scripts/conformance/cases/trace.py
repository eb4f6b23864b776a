"""debug_trace*: geth's struct logger, callTracer and prestateTracer (eth/tracers), checked
against facts every correct trace of the shared history has (gas against the receipt, the first
and last opcode, frames against the transaction, slots against storage)."""

from __future__ import annotations

from conformance.checks import Case, absent, equals, error, holds, result
from conformance.world import calldata

WORD_42 = "0x" + "00" * 31 + "2a"
STRUCT_LOG = {
    "pc": "int",
    "op": "str",
    "gas": "int",
    "gasCost": "int",
    "depth": "int",
    "stack?": ["quantity"],
}
STRUCT = {"gas": "int", "failed": "bool", "returnValue": "data", "structLogs": [STRUCT_LOG]}
FRAME = {
    "from": "address",
    "gas": "quantity",
    "gasUsed": "quantity",
    "to?": "address",
    "input": "data",
    "type": "str",
}
CALL_TRACER = {"tracer": "callTracer"}
PRESTATE = {"tracer": "prestateTracer"}
DIFF = {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}


def _used(w, name):
    return int(w.receipts[name]["gasUsed"], 16)


STRUCT_FACTS = (
    holds(lambda w, r: r["gas"] == _used(w, "store"), "gas is not the receipt's gasUsed"),
    holds(
        lambda w, r: [r["structLogs"][0][k] for k in ("pc", "op", "depth", "stack")] == [0, "PUSH1", 1, []],
        "the first step is not PUSH1 at pc 0, depth 1, empty stack",
    ),
    holds(lambda w, r: r["structLogs"][-1]["op"] == "STOP", "the last step is not STOP"),
    holds(
        lambda w, r: all(
            s.get("refund", 1) and s.get("memory", 1) and s.get("returnData", 1) for s in r["structLogs"]
        ),
        "empty refund, memory or returnData is there (geth leaves them out)",
    ),
    holds(
        lambda w, r: any(
            s["op"] == "SSTORE" and s["storage"]["0x" + "00" * 32] == WORD_42
            for s in r["structLogs"]
            if "storage" in s
        ),
        "the SSTORE step does not show slot 0 = 42",
    ),
)


def _memory_words(w, r):
    words = [m for s in r["structLogs"] for m in s.get("memory", [])]
    return bool(words) and all(len(m) == 66 and m.startswith("0x") for m in words)


TOP_FRAME = (
    holds(
        lambda w, r: (r["from"], r["to"]) == (w.address(0).lower(), w.contracts["a"].lower()),
        "from/to differ",
    ),
    holds(lambda w, r: r["gas"] == hex(200_000), "gas is not the transaction's gas limit"),
    holds(lambda w, r: int(r["gasUsed"], 16) == _used(w, "store"), "gasUsed is not the receipt's"),
    holds(lambda w, r: (r["type"], r["value"]) == ("CALL", "0x0"), "type or value differ"),
)


def _nested(w, r):
    call = r["calls"][0]
    return call["type"] == "CALL" and call["to"].lower() == w.contracts["b"].lower() and len(r["logs"]) == 1


def _prestate(w, r):
    sender, contract = r[w.address(0).lower()], r[w.contracts["a"].lower()]
    return (
        sender["nonce"] == 2
        and "code" in contract
        and contract["storage"]["0x" + "00" * 32] == "0x" + "00" * 32
    )


def _diff(w, r):
    after = r["post"][w.contracts["a"].lower()]["storage"]["0x" + "00" * 32]
    return after == WORD_42 and r["pre"][w.address(0).lower()]["nonce"] == 2


def _per_tx(w, r):
    return [t["txHash"] for t in r] == w.block(int(w.receipts["store"]["blockNumber"], 16))["transactions"]


def _store_block(w):
    return w.receipts["store"]["blockNumber"]


CASES = [
    Case(
        "debug_traceTransaction",
        "struct logger: gas, first and last op, storage",
        lambda w: [w.txs["store"]],
        result(STRUCT, *STRUCT_FACTS, absent("error")),
    ),
    Case(
        "debug_traceTransaction",
        "struct logger: enableMemory gives 32-byte words",
        lambda w: [w.txs["store"], {"enableMemory": True}],
        result(STRUCT, holds(_memory_words, "memory is not a list of 0x-prefixed 32-byte words")),
    ),
    Case(
        "debug_traceTransaction",
        "struct logger: disableStack leaves stacks out",
        lambda w: [w.txs["store"], {"disableStack": True}],
        result(
            STRUCT, holds(lambda w, r: all("stack" not in s for s in r["structLogs"]), "stacks are there")
        ),
    ),
    Case(
        "debug_traceTransaction",
        "struct logger: a revert returns its data",
        lambda w: [w.txs["fail"]],
        result(
            STRUCT,
            holds(lambda w, r: r["failed"] and r["returnValue"].startswith("0x08c379a0"), "no revert data"),
        ),
    ),
    Case(
        "debug_traceTransaction",
        "callTracer: the top frame is the transaction",
        lambda w: [w.txs["store"], CALL_TRACER],
        result(FRAME, *TOP_FRAME),
    ),
    Case(
        "debug_traceTransaction",
        "callTracer: a revert names its reason",
        lambda w: [w.txs["fail"], CALL_TRACER],
        result(
            FRAME,
            equals(
                lambda w: ("execution reverted", "conformance says no"),
                lambda r: (r["error"], r["revertReason"]),
            ),
        ),
    ),
    Case(
        "debug_traceTransaction",
        "callTracer withLog: nested call and logs",
        lambda w: [w.txs["relay"], {"tracer": "callTracer", "tracerConfig": {"withLog": True}}],
        result({**FRAME, "calls": [FRAME]}, holds(_nested, "calls or logs differ")),
    ),
    Case(
        "debug_traceTransaction",
        "callTracer onlyTopCall: no subcalls",
        lambda w: [w.txs["relay"], {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}],
        result(FRAME, absent("calls")),
    ),
    Case(
        "debug_traceTransaction",
        "prestateTracer: accounts and slots before the transaction",
        lambda w: [w.txs["store"], PRESTATE],
        result("any", holds(_prestate, "the prestate differs")),
    ),
    Case(
        "debug_traceTransaction",
        "prestateTracer diffMode: pre and post",
        lambda w: [w.txs["store"], DIFF],
        result({"pre": "any", "post": "any"}, holds(_diff, "the diff differs")),
    ),
    Case(
        "debug_traceTransaction",
        "an unknown transaction",
        lambda w: ["0x" + "ab" * 32],
        error(-32000, "transaction not found"),
    ),
    Case(
        "debug_traceCall",
        "callTracer on a view",
        lambda w: [{"to": w.contracts["a"], "data": calldata("value()")}, "latest", CALL_TRACER],
        result(FRAME, equals(lambda w: WORD_42, lambda r: r.get("output"))),
    ),
    Case(
        "debug_traceCall",
        "struct logger on a view",
        lambda w: [{"to": w.contracts["a"], "data": calldata("value()")}, "latest"],
        result(STRUCT, equals(lambda w: WORD_42, lambda r: r["returnValue"])),
    ),
    Case(
        "debug_traceCall",
        "on top of pending is refused",
        lambda w: [{"to": w.contracts["a"]}, "pending"],
        error(-32000, "tracing on top of pending is not supported"),
    ),
    Case(
        "debug_traceBlockByNumber",
        "one result per transaction",
        lambda w: [_store_block(w), CALL_TRACER],
        result([{"txHash": "hash", "result": FRAME}], holds(_per_tx, "results do not follow the block")),
    ),
    Case(
        "debug_traceBlockByNumber",
        "genesis is refused",
        lambda w: ["0x0"],
        error(-32000, "genesis is not traceable"),
    ),
    Case(
        "debug_traceBlockByHash",
        "one result per transaction",
        lambda w: [w.receipts["store"]["blockHash"], CALL_TRACER],
        result([{"txHash": "hash", "result": FRAME}], holds(_per_tx, "results do not follow the block")),
    ),
]
