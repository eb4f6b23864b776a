"""Calls with geth's state and block overrides, eth_createAccessList and eth_simulateV1."""

from __future__ import annotations

from conformance.checks import Case, equals, error, holds, result
from conformance.world import calldata

POOR = "0x00000000000000000000000000000000000b0b0b"  # an account with nothing, given ether by override
WORD_99 = "0x" + "00" * 31 + "99"


def _value_call(w):
    return {"to": w.contracts["a"], "data": calldata("value()")}


def _send_from_poor(w):
    return {"from": POOR, "to": w.address(3), "value": hex(10**18)}


def _listed(w, r):
    entries = {e["address"].lower(): e["storageKeys"] for e in r["accessList"]}
    return "0x" + "00" * 32 in entries.get(w.contracts["a"].lower(), [])


def _simulated(w, r):
    calls = r[0]["calls"]
    return calls[0]["status"] == "0x1" and int(calls[1]["returnData"], 16) == 5


SIMULATE_CALL = {
    "status": "quantity",
    "returnData": "data",
    "gasUsed": "quantity",
    "logs": [{"address": "address"}],
}

CASES = [
    Case(
        "eth_call",
        "state override of a slot (stateDiff)",
        lambda w: [_value_call(w), "latest", {w.contracts["a"]: {"stateDiff": {"0x" + "00" * 32: WORD_99}}}],
        result("data", equals(lambda w: WORD_99)),
    ),
    Case(
        "eth_call",
        "block override of the number",
        lambda w: [
            {"to": w.contracts["a"], "data": calldata("number()")},
            "latest",
            {},
            {"number": "0x1234"},
        ],
        result("data", equals(lambda w: "0x" + "00" * 30 + "1234")),
    ),
    Case(
        "eth_estimateGas",
        "state override of a balance",
        lambda w: [_send_from_poor(w), "latest", {POOR: {"balance": hex(10**19)}}],
        result("quantity", equals(lambda w: "0x5208")),
    ),
    Case(
        "eth_createAccessList",
        "a store lists the contract's slots",
        lambda w: [
            {"from": w.address(1), "to": w.contracts["a"], "data": calldata("store(uint256)", 3)},
            "latest",
        ],
        result(
            {"accessList": [{"address": "address", "storageKeys": ["hash"]}], "gasUsed": "quantity"},
            holds(_listed, "slot 0 of the contract is not listed"),
        ),
    ),
    Case(
        "eth_simulateV1",
        "a store then a read in one simulated block",
        lambda w: [
            {
                "blockStateCalls": [
                    {
                        "calls": [
                            {
                                "from": w.address(1),
                                "to": w.contracts["a"],
                                "data": calldata("store(uint256)", 5),
                            },
                            {"from": w.address(1), "to": w.contracts["a"], "data": calldata("value()")},
                        ]
                    }
                ]
            },
            "latest",
        ],
        result(
            [{"number": "quantity", "hash": "hash", "calls": [SIMULATE_CALL]}],
            holds(_simulated, "wrong results"),
        ),
    ),
    Case(
        "eth_call",
        "a priced call from an empty account: geth's insufficient funds",
        lambda w: [{"from": POOR, "to": w.address(3), "value": "0x1", "gasPrice": hex(10**9)}, "latest"],
        error(-32000, prefix="err: insufficient funds for gas * price + value: address 0x"),
    ),
    Case(
        "eth_simulateV1",
        "validation: a stale nonce is geth's -38010",
        lambda w: [
            {
                "blockStateCalls": [{"calls": [{"from": w.address(0), "to": w.address(3), "nonce": "0x0"}]}],
                "validation": True,
            },
            "latest",
        ],
        error(-38010, prefix="nonce too low: address "),
    ),
]
