"""WebSocket: JSON-RPC calls and eth_subscribe (newHeads, logs, newPendingTransactions)."""

from __future__ import annotations

import asyncio
import json

from eth_account import Account
from web3 import AsyncWeb3, Web3
from web3.providers.persistent import WebSocketProvider
from websockets.sync.client import connect

from harness.processes import DEV_ADDRESSES, DEV_KEYS


def call(ws, method: str, *params, req_id: int = 1):
    ws.send(json.dumps({"jsonrpc": "2.0", "id": req_id, "method": method, "params": list(params)}))
    while True:
        msg = json.loads(ws.recv(timeout=30))
        if msg.get("id") == req_id:
            return msg


def next_notification(ws, sub_id: str) -> dict:
    while True:
        msg = json.loads(ws.recv(timeout=30))
        if msg.get("method") == "eth_subscription" and msg["params"]["subscription"] == sub_id:
            return msg["params"]["result"]


def test_subscriptions_over_raw_websocket(dev_node, w3, probe_artifact):
    factory = w3.eth.contract(abi=probe_artifact["abi"], bytecode=probe_artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": DEV_ADDRESSES[0]}))
    probe = w3.eth.contract(address=receipt.contractAddress, abi=probe_artifact["abi"])
    with connect(dev_node.ws_url) as ws:
        assert call(ws, "eth_chainId")["result"] == "0x539"
        heads = call(ws, "eth_subscribe", "newHeads", req_id=2)["result"]
        logs = call(ws, "eth_subscribe", "logs", {"address": probe.address}, req_id=3)["result"]
        pending = call(ws, "eth_subscribe", "newPendingTransactions", req_id=4)["result"]
        bad = call(ws, "eth_subscribe", "newBananas", req_id=5)
        assert bad["error"]["code"] == -32602

        acct = Account.from_key(DEV_KEYS[0])
        tx = probe.functions.store(99, "ws").build_transaction(
            {
                "from": acct.address,
                "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
                "gas": 200_000,
            }
        )
        tx_hash = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        assert next_notification(ws, pending) == tx_hash.to_0x_hex()
        head = next_notification(ws, heads)
        log = next_notification(ws, logs)
        mined = w3.eth.wait_for_transaction_receipt(tx_hash)
        assert int(head["number"], 16) == mined.blockNumber and head["hash"] == mined.blockHash.to_0x_hex()
        assert (
            log["transactionHash"] == tx_hash.to_0x_hex() and log["address"].lower() == probe.address.lower()
        )
        assert int(log["topics"][2], 16) == 99

        assert call(ws, "eth_unsubscribe", heads, req_id=6)["result"] is True
        assert call(ws, "eth_unsubscribe", heads, req_id=7)["result"] is False
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=30))["error"]["code"] == -32700
        assert call(ws, "eth_blockNumber", req_id=8)["result"] == hex(mined.blockNumber)


def test_web3_websocket_provider_subscription(dev_node):
    async def scenario() -> tuple[int, int]:
        async with AsyncWeb3(WebSocketProvider(dev_node.ws_url)) as aw3:
            chain_id = await aw3.eth.chain_id
            await aw3.eth.subscribe("newHeads")
            sync_w3 = Web3(Web3.HTTPProvider(dev_node.url))
            acct = Account.from_key(DEV_KEYS[1])
            tx = {
                "chainId": 1337,
                "to": DEV_ADDRESSES[0],
                "value": 1,
                "gas": 21000,
                "maxFeePerGas": 2 * sync_w3.eth.gas_price,
                "maxPriorityFeePerGas": 1,
                "nonce": sync_w3.eth.get_transaction_count(acct.address, "pending"),
            }
            await aw3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
            async for message in aw3.socket.process_subscriptions():
                return chain_id, message["result"]["number"]
        raise AssertionError("no newHeads notification")

    chain_id, number = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert chain_id == 1337 and number >= 1
