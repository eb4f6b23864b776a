"""debug_traceTransaction through web3.py (sync and async): the call tree, the struct logs step by
step against an independent EVM (revm, in anvil), and the prestate against the chain's own state.
"""

from __future__ import annotations

import asyncio

import pytest
from eth_utils import keccak, to_checksum_address
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3

from tests.rpc.history import make_history
from tests.support.anvil import anvil

CALL_TRACER = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}
SHA256 = "0x0000000000000000000000000000000000000002"
DEAD = "0x000000000000000000000000000000000000dEaD"
OPTIONAL = ("refund", "memory", "returnData", "storage", "error")  # geth leaves them out when empty
EMPTY = ("0x", [], {}, 0, "")


def _kinds(frame) -> list[str]:
    return [call["type"] for call in frame["calls"]]


def test_call_tree_of_every_kind_of_frame(w3, history):
    receipt = history.receipts["run"]
    tracee, sender = history.contract.address, history.sender.address
    trace = w3.geth.debug.trace_transaction(receipt.transactionHash, CALL_TRACER)

    assert (trace["type"], trace["from"], trace["to"], trace["value"]) == ("CALL", sender, tracee, 1000)
    assert trace["gas"] == 3_000_000 and trace["gasUsed"] == receipt.gasUsed  # geth: the tx's limit
    assert _kinds(trace) == [
        "CREATE", "CREATE2", "CALL", "CALL", "STATICCALL", "DELEGATECALL", "STATICCALL", "CALL", "CALL",
    ]  # fmt: skip
    create, create2, set_, boom, ping, delegate, sha, bye, transfer = trace["calls"]
    child = to_checksum_address(create["to"])
    assert create["value"] == 1 and create["output"] == w3.eth.get_code(child)
    assert (set_["to"], set_["value"], ping["to"]) == (child, 10, child)
    assert "value" not in ping and "value" not in sha and sha["to"] == to_checksum_address(SHA256)
    assert boom["error"] == "execution reverted" and boom["revertReason"] == "child says no"
    assert "logs" not in boom  # its log went with its revert
    assert (delegate["from"], delegate["to"], delegate["value"]) == (tracee, create2["to"], 1000)
    assert bye["calls"][0]["type"] == "SELFDESTRUCT" and bye["calls"][0]["to"] == sender
    assert (transfer["to"], transfer["value"]) == (DEAD, 1)
    # logs carry the block's log index, as the receipt numbers them, and their place among calls
    logged = [(lg, frame) for frame in (trace, set_, delegate) for lg in frame.get("logs", [])]
    by_content = {(lg.address, tuple(lg.topics), bytes(lg.data)): lg.logIndex for lg in receipt.logs}
    assert len(logged) == len(by_content) == 4
    for lg, _ in logged:
        assert lg["index"] == hex(by_content[(lg["address"], tuple(lg["topics"]), bytes(lg["data"]))])
    assert [lg["position"] for lg in trace["logs"]] == [0, 7]

    top = w3.geth.debug.trace_transaction(
        receipt.transactionHash, {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": True}}
    )
    assert "calls" not in top and top["gasUsed"] == receipt.gasUsed


def test_refused_call_and_failed_transaction_frames(w3, history):
    broke = w3.geth.debug.trace_transaction(history.receipts["broke"].transactionHash, CALL_TRACER)
    (refused,) = broke["calls"]
    assert refused["error"] == "insufficient balance for transfer"
    assert refused["value"] == 10**30 and refused["gasUsed"] == 0 and "output" not in refused
    failed = w3.geth.debug.trace_transaction(history.receipts["fail"].transactionHash, CALL_TRACER)
    assert (failed["error"], failed["revertReason"]) == ("execution reverted", "nope")
    assert failed["gas"] == 100_000 and failed["gasUsed"] == history.receipts["fail"].gasUsed
    plain = w3.geth.debug.trace_transaction(history.receipts["transfer"].transactionHash)
    assert plain == {"gas": 21000, "failed": False, "returnValue": "0x", "structLogs": []}


def _struct(url: str, tx_hash: str, config: dict) -> dict:
    from harness.processes import rpc

    return rpc(url, "debug_traceTransaction", tx_hash, config)


def _geth_costs(ours: list[dict], theirs: list[dict]) -> None:
    """geth's cost of an opcode is what it charges before a frame starts, so a CREATE's excludes
    the gas it forwards to the new frame, which revm (anvil) counts in; elsewhere they agree."""
    for i, (mine, revm) in enumerate(zip(ours, theirs, strict=True)):
        if mine["op"].startswith("CREATE") and ours[i + 1]["depth"] > mine["depth"]:
            assert revm["gasCost"] - mine["gasCost"] == ours[i + 1]["gas"], i
        else:
            assert mine["gasCost"] == revm["gasCost"], (i, mine, revm)


def test_struct_logs_step_by_step_as_revm_runs_them(node, history, tmp_path):
    """The same transactions on anvil (revm): every step's pc, op, gas, depth, stack, memory and
    storage agree; refunds and the few costs where anvil departs from geth are checked on their own."""
    with anvil(tmp_path, "--chain-id", "1337", "--steps-tracing") as url:
        theirs = make_history(Web3(Web3.HTTPProvider(url)))
        for name in ("run", "broke", "fail"):
            config = {"enableMemory": True, "enableReturnData": True}
            mine = _struct(node.url, history.receipts[name].transactionHash.to_0x_hex(), config)
            revm = _struct(url, theirs.receipts[name].transactionHash.to_0x_hex(), config)
            assert {k: mine[k] for k in ("gas", "failed", "returnValue")} == {
                k: revm[k] for k in ("gas", "failed", "returnValue")
            }
            assert len(mine["structLogs"]) == len(revm["structLogs"]) > 50
            for ours, other in zip(mine["structLogs"], revm["structLogs"], strict=True):
                other = {k: v for k, v in other.items() if k not in OPTIONAL or v not in EMPTY}
                for key in ("pc", "op", "gas", "depth", "stack", "storage", "memory", "returnData", "error"):
                    assert ours.get(key) == other.get(key), (name, key, ours, other)
            _geth_costs(mine["structLogs"], revm["structLogs"])
    steps = _struct(node.url, history.receipts["run"].transactionHash.to_0x_hex(), {})["structLogs"]
    cleared = next(
        i for i, s in enumerate(steps) if s["op"] == "SSTORE" and s["stack"][-2] == "0x0" and s["depth"] == 1
    )
    assert "refund" not in steps[cleared] and steps[cleared + 1]["refund"] == 19900  # EIP-3529: b 0 -> 2 -> 0
    assert all("memory" not in s for s in steps)


def test_prestate_is_the_state_before_and_diff_the_state_after(node, history):
    """Through web3's async client: each account the trace names had, at the parent block, the
    balance, nonce, code and slots it says; diffMode's post is the block's state."""

    async def check() -> None:
        w3 = AsyncWeb3(AsyncHTTPProvider(node.url))
        receipt = history.receipts["run"]
        before, after = receipt.blockNumber - 1, receipt.blockNumber
        pre = await w3.geth.debug.trace_transaction(receipt.transactionHash, {"tracer": "prestateTracer"})
        assert history.contract.address in pre and history.sender.address in pre
        for address, account in pre.items():
            assert account["balance"] == await w3.eth.get_balance(address, before)
            assert account.get("nonce", 0) == await w3.eth.get_transaction_count(address, before)
            code = await w3.eth.get_code(address, before)
            assert account.get("code", "0x") == code.to_0x_hex()
            assert account.get("codeHash") == ("0x" + keccak(code).hex() if code else None)
            for slot, value in account.get("storage", {}).items():
                assert value == (await w3.eth.get_storage_at(address, int(slot, 16), before)).to_0x_hex()
        diff = await w3.geth.debug.trace_transaction(
            receipt.transactionHash, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}
        )
        for address in set(diff["post"]) - set(diff["pre"]):  # left out of pre: it was empty
            assert await w3.eth.get_balance(address, before) == 0
            assert await w3.eth.get_transaction_count(address, before) == 0
            assert await w3.eth.get_code(address, before) == b""
        assert to_checksum_address(DEAD) in diff["post"] and to_checksum_address(DEAD) not in diff["pre"]
        for address, account in diff["post"].items():
            if "balance" in account:
                assert account["balance"] == await w3.eth.get_balance(address, after)
            for slot, value in account.get("storage", {}).items():
                assert value == (await w3.eth.get_storage_at(address, int(slot, 16), after)).to_0x_hex()
        tracee = diff["post"][history.contract.address]["storage"]
        assert tracee["0x" + "00" * 32] == "0x" + "00" * 31 + "05"  # a: set to 1, then 5 by the delegatecall

    asyncio.run(check())


@pytest.mark.parametrize("tracer", [{}, {"tracer": "callTracer"}, {"tracer": "prestateTracer"}])
def test_tracing_leaves_the_chain_as_it_was(w3, history, tracer):
    head = w3.eth.get_block("latest")
    for receipt in history.receipts.values():
        w3.geth.debug.trace_transaction(receipt.transactionHash, tracer or None)
    assert w3.eth.get_block("latest") == head
    again = history.call("spin", 3)  # execution after traces is the chain's own, not a tracer's
    assert again.status == 1 and again.blockNumber == head.number + 1
    trace = w3.geth.debug.trace_transaction(again.transactionHash, {"tracer": "callTracer"})
    assert trace["gasUsed"] == again.gasUsed
