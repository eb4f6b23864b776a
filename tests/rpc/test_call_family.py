"""The call family with geth's overrides, access lists and simulation, through web3.py (call,
estimate_gas, create_access_list, simulate_v1), cast (call --override-* --block.*, access-list)
and ethers v6 (debug_traceCall with stateOverrides); geth's texts for what a call refuses."""

from __future__ import annotations

import pytest
from eth_abi import decode
from web3 import Web3
from web3.exceptions import ContractPanicError, Web3RPCError

from harness.processes import DEV_ADDRESSES
from tests.rpc.clients import cast, deploy_calls, ethers, own_node

A, B, C, D = DEV_ADDRESSES
POOR = Web3.to_checksum_address("0x" + "00" * 18 + "b0b0")
GWEI = 10**9
CONTEXT = ["uint256", "uint256", "address", "uint256", "uint256", "uint256"]


node, w3 = own_node("calls")


@pytest.fixture(scope="module")
def calls(w3):
    contract = deploy_calls(w3, A)
    w3.eth.wait_for_transaction_receipt(contract.functions.store(42).transact({"from": A}))
    return contract


def _context(w3, calls, *args) -> tuple:
    raw = w3.eth.call({"to": calls.address, "data": calls.encode_abi("context", []), "from": POOR}, *args)
    return decode(CONTEXT, raw)


def test_state_overrides_through_web3(w3, calls):
    value = {"to": calls.address, "data": calls.encode_abi("value", [])}
    assert int.from_bytes(w3.eth.call(value), "big") == 42
    word = "0x" + (99).to_bytes(32, "big").hex()
    diff = {calls.address: {"stateDiff": {"0x" + "00" * 32: word}}}
    assert int.from_bytes(w3.eth.call(value, "latest", diff), "big") == 99
    assert int.from_bytes(w3.eth.call(value, "latest", {calls.address: {"state": {}}}), "big") == 0
    assert int.from_bytes(w3.eth.call(value), "big") == 42  # nothing stayed
    rich = {POOR: {"balance": hex(10**19)}}
    assert _context(w3, calls, "latest", rich)[4] == 10**19
    send = {"from": POOR, "to": B, "value": 10**18}
    assert w3.eth.estimate_gas(send, "latest", rich) == 21_000
    with pytest.raises(Web3RPCError) as poor:
        w3.eth.estimate_gas(send)
    want = f"insufficient funds for gas * price + value: address {POOR} have 0 want {10**18}"
    assert want in str(poor.value)
    code = {calls.address: {"code": "0x602a60005260206000f3"}}  # returns 42 for anything
    assert (
        int.from_bytes(w3.eth.call({"to": calls.address, "data": "0x12345678"}, "latest", code), "big") == 42
    )


def _values(printed: str) -> list[str]:
    """cast's decoded values, one a line (a big number is followed by "[2e9]")."""
    return [line.split()[0] for line in printed.splitlines() if line.strip()]


def test_block_overrides_through_cast(node, calls):
    sig = "context()(uint256,uint256,address,uint256,uint256,uint256)"
    out = cast(
        "call",
        calls.address,
        sig,
        "--block.number",
        "4660",
        "--block.time",
        "2000000000",
        "--rpc-url",
        node.url,
    )
    number, time, *_ = _values(out.stdout)
    assert (number, time) == ("4660", "2000000000")
    out = cast(
        "call",
        calls.address,
        "value()(uint256)",
        "--override-state-diff",
        f"{calls.address}:0:7",
        "--rpc-url",
        node.url,
    )
    assert _values(out.stdout)[0] == "7"
    out = cast(
        "call", "--from", POOR, calls.address, sig, "--override-balance", f"{POOR}:123", "--rpc-url", node.url
    )
    assert _values(out.stdout)[4] == "123"


def test_block_overrides_as_json(w3, calls):
    overrides = {
        "number": "0x1234",
        "time": hex(2_000_000_000),
        "feeRecipient": C,
        "baseFeePerGas": hex(7 * GWEI),
    }
    data = calls.encode_abi("context", [])
    call = {"to": calls.address, "data": data, "from": A, "gasPrice": hex(8 * GWEI)}
    raw = w3.provider.make_request("eth_call", [call, "latest", {}, overrides])["result"]
    number, time, coinbase, basefee, _, _ = decode(CONTEXT, bytes.fromhex(raw[2:]))
    assert (number, time, coinbase, basefee) == (0x1234, 2_000_000_000, C.lower(), 7 * GWEI)
    free = {"to": calls.address, "data": data}
    raw = w3.provider.make_request("eth_call", [free, "latest", {}, overrides])["result"]
    assert decode(CONTEXT, bytes.fromhex(raw[2:]))[3] == 0  # a call paying nothing sees base fee 0, as geth
    refused = w3.provider.make_request("eth_call", [call, "latest", {}, {"beaconRoot": "0x" + "11" * 32}])
    assert refused["error"] == {
        "code": -32000,
        "message": 'block override "beaconRoot" is not supported for this RPC method',
    }
    refused = w3.provider.make_request("eth_call", [call, "latest", {}, {"coinbase": C}])
    assert (
        refused["error"]["code"] == -32602
        and "unknown block override 'coinbase'" in refused["error"]["message"]
    )


def test_access_lists_through_web3_and_cast(w3, node, calls):
    tx = {"from": B, "to": calls.address, "data": calls.encode_abi("store", [5])}
    made = w3.eth.create_access_list(tx)
    slots = {e["address"]: e["storageKeys"] for e in made["accessList"]}
    assert "0x" + "00" * 32 in [k.to_0x_hex() if hasattr(k, "to_0x_hex") else k for k in slots[calls.address]]
    with_list = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({**tx, "accessList": made["accessList"], "gasPrice": 2 * GWEI})
    )
    assert with_list.status == 1 and with_list.gasUsed == made["gasUsed"]
    out = cast(
        "access-list", calls.address, "store(uint256)", "6", "--from", B, "--rpc-url", node.url, "--json"
    )
    assert calls.address.lower() in out.stdout.lower()


def test_simulate_v1_through_web3(w3, calls):
    store, read = calls.encode_abi("store", [77]), calls.encode_abi("value", [])
    before = w3.eth.call({"to": calls.address, "data": read})
    head = w3.eth.get_block("latest")
    blocks = w3.eth.simulate_v1(
        {
            "blockStateCalls": [
                {
                    "calls": [
                        {"from": B, "to": calls.address, "data": store, "value": 3},
                        {"from": B, "to": calls.address, "data": read},
                    ]
                },
                {"blockOverrides": {"number": head.number + 3}, "calls": [{"from": B, "to": C, "value": 10}]},
            ],
            "traceTransfers": True,
            "returnFullTransactions": True,
        },
        "latest",
    )
    assert [b["number"] for b in blocks] == [head.number + 1, head.number + 2, head.number + 3]
    assert [b["timestamp"] for b in blocks] == [head.timestamp + 12 * i for i in (1, 2, 3)]
    first, last = blocks[0]["calls"], blocks[2]["calls"]
    assert [c["status"] for c in first] == [1, 1] and int.from_bytes(first[1]["returnData"], "big") == 77
    transfer, stored = first[0]["logs"]
    assert (
        transfer["address"] == "0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE"
        and stored["address"] == calls.address
    )
    assert [lg["logIndex"] for lg in first[0]["logs"]] == [0, 1] and transfer["blockHash"] == blocks[0][
        "hash"
    ]
    assert int.from_bytes(last[0]["logs"][0]["data"], "big") == 10
    assert blocks[0]["transactions"][0]["from"] == B and blocks[1]["transactions"] == []
    assert blocks[1]["parentHash"] == blocks[0]["hash"] and blocks[2]["parentHash"] == blocks[1]["hash"]
    assert w3.eth.call({"to": calls.address, "data": read}) == before  # nothing was committed


def test_simulate_v1_validation_and_limits(w3, calls):
    nonce = w3.eth.get_transaction_count(B)
    stale = {
        "blockStateCalls": [{"calls": [{"from": B, "to": C, "nonce": hex(nonce - 1)}]}],
        "validation": True,
    }
    reply = w3.provider.make_request("eth_simulateV1", [stale, "latest"])
    assert reply["error"]["code"] == -38010 and reply["error"]["message"].startswith(
        "nonce too low: address " + B
    )
    fails = {
        "blockStateCalls": [
            {"calls": [{"from": B, "to": calls.address, "data": calls.encode_abi("divide", [1, 0])}]}
        ]
    }
    call = w3.provider.make_request("eth_simulateV1", [fails, "latest"])["result"][0]["calls"][0]
    assert call["status"] == "0x0" and call["error"]["code"] == 3
    assert call["error"]["message"] == "execution reverted: division or modulo by zero"
    for options, code, text in (
        ({"blockStateCalls": []}, -32602, "empty input"),
        ({"blockStateCalls": [{}] * 257}, -38026, "too many blocks"),
        (
            {"blockStateCalls": [{"blockOverrides": {"number": "0x1"}}]},
            -38020,
            "block numbers must be in order",
        ),
        ({"blockStateCalls": [{}], "tracetransfers": True}, -32602, "unknown simulation option"),
    ):
        reply = w3.provider.make_request("eth_simulateV1", [options, "latest"])
        assert reply["error"]["code"] == code and text in reply["error"]["message"]


def test_a_panic_is_named_as_geth_names_it(w3, node, calls):
    with pytest.raises(ContractPanicError):
        calls.functions.divide(1, 0).call()
    reply = w3.provider.make_request(
        "eth_call", [{"to": calls.address, "data": calls.encode_abi("divide", [1, 0])}]
    )
    assert reply["error"]["message"] == "execution reverted: division or modulo by zero"
    out = cast(
        "call", calls.address, "divide(uint256,uint256)(uint256)", "1", "0", "--rpc-url", node.url, ok=False
    )
    assert out.returncode != 0 and "division or modulo by zero" in out.stderr


ETHERS = r"""
const { ethers } = require("ethers");
(async () => {
  const [url, to, data] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const word = "0x" + "00".repeat(31) + "63";
  const config = { tracer: "callTracer", stateOverrides: { [to]: { stateDiff: { [ethers.ZeroHash]: word } } },
    blockOverrides: { number: "0x99" } };
  const traced = await provider.send("debug_traceCall", [{ to, data }, "latest", config]);
  const called = await provider.send("eth_call", [{ to, data }, "latest", config.stateOverrides]);
  console.log(JSON.stringify({ traced: traced.output, called }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_trace_call_takes_the_same_overrides(node, calls, tmp_path):
    got = ethers(tmp_path, ETHERS, node.url, calls.address, calls.encode_abi("value", []))
    assert got["traced"] == got["called"] == "0x" + "00" * 31 + "63"
