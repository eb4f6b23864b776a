"""Block traces, call traces and refusals, through the tools users reach them with: Foundry's cast
(`cast run`, `cast call --trace`), ethers v6 (provider.send) and plain JSON-RPC."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from web3 import Web3

from harness.processes import DEV_KEYS, DevNode, rpc
from tests.rpc.clients import NODE_ENV
from tests.rpc.clients import cast as run_cast
from tests.rpc.history import History, tracee_artifact

CALL_TRACER = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}


def cast(*args: str) -> str:
    return run_cast(*args).stdout


def _frames(trace: dict) -> list[str]:
    """Addresses of every frame below the top, depth first (SELFDESTRUCT has none of its own)."""
    out = []
    for call in trace.get("calls", []):
        if call["type"] != "SELFDESTRUCT":
            out.append(call["to"].lower())
        out += _frames(call)
    return out


def test_cast_run_and_call_trace(node, w3, history):
    """cast replays the transaction in revm from this node's state: same gas, same frames."""
    receipt = history.receipts["run"]
    out = cast("run", receipt.transactionHash.to_0x_hex(), "--rpc-url", node.url)
    assert "Transaction successfully executed." in out
    assert int(re.search(r"Gas used: (\d+)", out).group(1)) == receipt.gasUsed
    ours = w3.provider.make_request(
        "debug_traceTransaction", [receipt.transactionHash.to_0x_hex(), CALL_TRACER]
    )
    shown = [m.lower() for m in re.findall(r"(0x[0-9a-fA-F]{40})(?:::|\s|$)", out.split("Traces:")[1])]
    assert [a for a in shown if a != history.contract.address.lower()] == [
        a for a in _frames(ours["result"]) if a != "0x0000000000000000000000000000000000000002"
    ]
    called = cast("call", "--trace", history.contract.address, "a()(uint256)", "--rpc-url", node.url)
    assert "[Return] 0x" + "00" * 31 + "03" in called  # a() after broke()


ETHERS = r"""
const { ethers } = require("ethers");
(async () => {
  const [url, to, data, block] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const call = { to, data };
  const out = {};
  out.ethCall = await provider.call(call);
  out.trace = await provider.send("debug_traceCall", [call, "latest", { tracer: "callTracer" }]);
  out.struct = await provider.send("debug_traceCall", [call, "latest", {}]);
  const before = { tracer: "callTracer", txIndex: "0x0" };
  out.before = await provider.send("debug_traceCall", [call, block, before]);
  try {
    await provider.send("debug_traceCall", [call, "latest", { tracer: "4byteTracer" }]);
  } catch (e) { out.refused = e.error || e.info; }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_trace_call_through_ethers(node, history, tmp_path):
    """debug_traceCall answers what eth_call answers; with txIndex, on the state before that
    transaction of the block: a() is 3 after broke() (fail() reverted its 9), 5 before broke()."""
    script = tmp_path / "trace_call.js"
    script.write_text(ETHERS)
    data = history.contract.encode_abi("a", [])
    block = hex(history.receipts["broke"].blockNumber)
    out = subprocess.run(
        ["node", str(script), node.url, history.contract.address, data, block],
        capture_output=True, text=True, timeout=120, env=NODE_ENV,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["trace"]["output"] == got["ethCall"] == "0x" + "00" * 31 + "03"
    assert got["trace"]["gas"] == hex(50_000_000) and got["trace"]["from"] == "0x" + "00" * 20
    assert got["struct"]["returnValue"] == got["ethCall"] and got["struct"]["failed"] is False
    assert got["before"]["output"] == "0x" + "00" * 31 + "05"  # before broke() set a = 3
    assert got["refused"]["code"] == -32602 and "4byteTracer is not supported" in got["refused"]["message"]


@pytest.fixture(scope="module")
def busy_block(tmp_path_factory):
    """A node sealing once a second, and three stores that land in one block."""
    node = DevNode.start(tmp_path_factory.mktemp("blocks") / "data", block_time=1.0)
    w3 = Web3(Web3.HTTPProvider(node.url))
    history = History(w3)
    artifact = tracee_artifact()
    history.contract = w3.eth.contract(
        history.send({"data": artifact["bytecode"]}).contractAddress, abi=artifact["abi"]
    )
    history.call("run", value=1000)
    start = w3.eth.block_number
    while w3.eth.block_number == start:  # send right after a block is sealed
        time.sleep(0.02)
    hashes = []
    for i, key in enumerate(DEV_KEYS[:3]):
        data = history.contract.encode_abi("spin" if i else "run", [2] if i else [])
        tx = {"to": history.contract.address, "data": data, "value": 0 if i else 10}
        hashes.append(_send_raw(w3, tx, key))
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    yield node, receipts
    node.stop()


def _send_raw(w3, tx, key):
    from eth_account import Account

    account = Account.from_key(key)
    fields = {
        "chainId": 1337,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
        "gas": 3_000_000,
    }
    signed = account.sign_transaction({**fields, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9, **tx})
    return w3.eth.send_raw_transaction(signed.raw_transaction)


def test_block_traces_are_the_transactions_traces(busy_block):
    node, receipts = busy_block
    block = {r.blockNumber for r in receipts}
    assert len(block) == 1, "the three transactions should share a block"
    number, block_hash = hex(receipts[0].blockNumber), receipts[0].blockHash.to_0x_hex()
    by_number = rpc(node.url, "debug_traceBlockByNumber", number, CALL_TRACER)
    by_hash = rpc(node.url, "debug_traceBlockByHash", block_hash, CALL_TRACER)
    assert by_number == by_hash
    assert [t["txHash"] for t in by_number] == [r.transactionHash.to_0x_hex() for r in receipts]
    for item, receipt in zip(by_number, receipts, strict=True):
        alone = rpc(node.url, "debug_traceTransaction", item["txHash"], CALL_TRACER)
        assert item["result"] == alone and int(alone["gasUsed"], 16) == receipt.gasUsed
    structs = rpc(node.url, "debug_traceBlockByNumber", number)
    assert [s["result"]["gas"] for s in structs] == [r.gasUsed for r in receipts]


@pytest.fixture(scope="module")
def spin(history):
    """A transaction of some 60,000 steps."""
    return history.call("spin", 3000, gas=10_000_000)


PRESTATE = {"tracer": "prestateTracer"}
REFUSALS = [
    ({**CALL_TRACER, "onlyTopCall": True}, -32602, "unknown trace option onlyTopCall"),
    ({**CALL_TRACER, "tracerConfig": {"onlyTop": True}}, -32602, "unknown callTracer option onlyTop"),
    (
        {**PRESTATE, "tracerConfig": {"diffMode": True, "includeEmpty": True}},
        -32602,
        "cannot use diffMode with",
    ),
    ({"tracer": "{step: function() {}}"}, -32602, "JavaScript tracers are not supported here"),
    (
        {"disableStack": "yes"},
        -32602,
        "cannot unmarshal string into Go struct field TraceConfig.disableStack",
    ),
    ({"timeout": "soon"}, -32000, 'time: invalid duration "soon"'),
    ({"timeout": "10m"}, -32602, "timeout 10m is above this node's limit of 60s"),
    ({"timeout": "1ms"}, -32000, "execution timeout"),
]


@pytest.mark.parametrize(("config", "code", "text"), REFUSALS)
def test_bad_trace_requests_get_one_clear_error(node, spin, config, code, text):
    """Every refusal names its reason; a trace cut short by its timeout says so; the node goes on."""
    with pytest.raises(RuntimeError) as refused:
        rpc(node.url, "debug_traceTransaction", spin.transactionHash.to_0x_hex(), config)
    got_code, message, _ = refused.value.args
    assert got_code == code and text in message
    assert rpc(node.url, "eth_blockNumber")
