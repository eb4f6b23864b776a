"""The dev chain's conveniences scripts written for anvil and hardhat call, through cast (rpc,
send --unlocked, balance, code, chain-id) and web3.py (sync and async): state edits are blocks
that survive kill -9 and prove against their state root, impersonation, mining modes, dropping,
reset, and `--chain-id`."""

from __future__ import annotations

import asyncio
import json
import subprocess

from web3 import AsyncHTTPProvider, AsyncWeb3, Web3

from harness.processes import DEV_ADDRESSES, HUBAO, ROOT, DevNode, free_port
from tests.rpc.clients import cast, own_node
from tests.support.proofs import verify_account, verify_slots

A, B, C, D = DEV_ADDRESSES
WHALE = Web3.to_checksum_address("0x" + "d1" * 20)
TARGET = Web3.to_checksum_address("0x" + "e0" * 19 + "01")
CODE = "0x6001600055"
WORD = "0x" + "00" * 31 + "07"


node, w3 = own_node("dev")


def test_state_edits_are_blocks_that_prove_and_last(w3, node):
    snapshot = node.rpc("evm_snapshot")
    start = w3.eth.block_number
    assert cast("rpc", "anvil_setBalance", TARGET, "0x1234", "--rpc-url", node.url).stdout.strip() == "null"
    assert w3.provider.make_request("hardhat_setCode", [TARGET, CODE])["result"] is True
    cast("rpc", "anvil_setNonce", TARGET, "0x5", "--rpc-url", node.url)
    assert w3.provider.make_request("hardhat_setStorageAt", [TARGET, "0x0", WORD])["result"] is True
    assert cast("balance", TARGET, "--rpc-url", node.url).stdout.strip() == str(0x1234)
    assert cast("code", TARGET, "--rpc-url", node.url).stdout.strip() == CODE
    assert w3.eth.get_transaction_count(TARGET) == 5 and w3.eth.get_storage_at(TARGET, 0).to_0x_hex() == WORD
    head = w3.eth.get_block("latest")
    assert head.number == start + 4 and head.transactions == []
    assert head.extraData == b"hubao dev: hardhat_setStorageAt"
    proof = w3.eth.get_proof(TARGET, [0], "latest")
    storage_root, _ = verify_account(bytes(head.stateRoot), proof)
    assert proof["balance"] == 0x1234 and verify_slots(storage_root, proof) == [7]
    node.kill()  # a power cut: nothing but what was committed remains
    node.restart()
    assert w3.eth.get_balance(TARGET) == 0x1234 and w3.eth.get_code(TARGET).to_0x_hex() == CODE
    assert node.rpc("evm_revert", snapshot) is False  # snapshots are the process's, as anvil's
    fresh = node.rpc("evm_snapshot")
    cast("rpc", "anvil_setBalance", TARGET, "0x1", "--rpc-url", node.url)
    assert node.rpc("evm_revert", fresh) is True
    assert w3.eth.get_balance(TARGET) == 0x1234  # evm_revert undoes an edit like any block


def test_bad_edits_change_nothing(w3, node):
    start = w3.eth.block_number
    for method, params, text in (
        ("anvil_setBalance", [TARGET, "lots"], "hex string without 0x prefix"),
        ("anvil_setStorageAt", [TARGET, "0x0", "0x07"], "a storage value is 32 bytes"),
        ("anvil_setCode", ["0x1234", CODE], "want 40 for common.Address"),
        ("anvil_reset", [{"forking": {"jsonRpcUrl": "http://x"}}], "forking is not supported"),
    ):
        reply = w3.provider.make_request(method, params)
        assert reply["error"]["code"] == -32602 and text in reply["error"]["message"]
    assert w3.eth.block_number == start


def test_impersonation_through_cast_and_web3(w3, node):
    node.rpc("anvil_setBalance", WHALE, hex(10**18))
    refused = cast("send", "--unlocked", "--from", WHALE, C, "--value", "1", "--rpc-url", node.url, ok=False)
    assert refused.returncode != 0 and "unknown account" in refused.stderr
    cast("rpc", "anvil_impersonateAccount", WHALE, "--rpc-url", node.url)
    sent = cast("send", "--unlocked", "--from", WHALE, C, "--value", "1", "--rpc-url", node.url, "--json")
    receipt = json.loads(sent.stdout)
    assert receipt["status"] == "0x1" and receipt["from"].lower() == WHALE.lower()
    assert WHALE in w3.eth.accounts  # as anvil lists impersonated accounts
    assert w3.provider.make_request("hardhat_stopImpersonatingAccount", [WHALE])["result"] is True
    assert WHALE not in w3.eth.accounts
    w3.provider.make_request("hardhat_impersonateAccount", [WHALE])
    tx_hash = w3.eth.send_transaction({"from": WHALE, "to": C, "value": 2, "type": 0, "gasPrice": 10**10})
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["from"] == WHALE
    node.kill()
    node.restart()
    assert w3.eth.get_transaction(tx_hash)["from"] == WHALE  # the sender is recorded, not recovered
    traced = w3.provider.make_request(
        "debug_traceTransaction", [tx_hash.to_0x_hex(), {"tracer": "callTracer"}]
    )
    assert traced["result"]["from"] == WHALE.lower() and traced["result"]["value"] == "0x2"


def test_mining_modes_through_async_web3(node):
    async def scenario():
        aw3 = AsyncWeb3(AsyncHTTPProvider(node.url))
        provider = aw3.provider
        await provider.make_request("evm_setAutomine", [False])
        assert (await provider.make_request("anvil_getAutomine", []))["result"] is False
        tx_hash = await aw3.eth.send_transaction({"from": B, "to": C, "value": 1})
        pending = await aw3.eth.get_block("pending")
        assert tx_hash in pending.transactions
        await provider.make_request("evm_mine", [])
        mined = await aw3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
        await provider.make_request("evm_setIntervalMining", [1])
        start = await aw3.eth.block_number
        while await aw3.eth.block_number < start + 2:  # empty blocks, one a second
            await asyncio.sleep(0.2)
        interval = (await provider.make_request("anvil_getIntervalMining", []))["result"]
        await provider.make_request("evm_setIntervalMining", [0])
        await provider.make_request("anvil_setAutomine", [True])
        again = await aw3.eth.send_transaction({"from": B, "to": C, "value": 1})
        return mined, interval, await aw3.eth.wait_for_transaction_receipt(again, timeout=10)

    mined, interval, again = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert mined.status == again.status == 1 and interval == 1


def test_drop_and_reset(tmp_path):
    with DevNode.start(tmp_path / "data") as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": A, "to": TARGET, "value": 9}))
        node.rpc("evm_setAutomine", False)
        waiting = w3.eth.send_transaction({"from": A, "to": TARGET, "value": 1})
        assert node.rpc("anvil_dropTransaction", waiting.to_0x_hex()) == waiting.to_0x_hex()
        assert node.rpc("hardhat_dropTransaction", waiting.to_0x_hex()) is False
        assert node.rpc("eth_getTransactionByHash", waiting.to_0x_hex()) is None
        node.rpc("evm_increaseTime", 3600)
        assert node.rpc("hardhat_reset") is True
        assert w3.eth.block_number == 0 and w3.eth.get_balance(TARGET) == 0
        assert w3.eth.get_transaction_count(A) == 0 and node.rpc("anvil_getAutomine") is False
        node.rpc("evm_setAutomine", True)
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": A, "to": TARGET, "value": 3})
        )
        assert receipt.blockNumber == 1 and w3.eth.get_balance(TARGET) == 3


def test_chain_id_is_a_setting(tmp_path):
    datadir = tmp_path / "data"
    with DevNode.start(datadir, extra=["--chain-id", "31337"]) as node:
        assert cast("chain-id", "--rpc-url", node.url).stdout.strip() == "31337"
        sent = cast("send", "--unlocked", "--from", A, C, "--value", "1", "--rpc-url", node.url, "--json")
        tx = json.loads(
            cast("tx", json.loads(sent.stdout)["transactionHash"], "--rpc-url", node.url, "--json").stdout
        )
        assert tx["chainId"] == hex(31337)
    args = [*HUBAO, "node", "run", "--dev", "--port", str(free_port()), "--datadir", str(datadir)]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "the datadir holds chain 31337, not chain 1337" in out.stderr
