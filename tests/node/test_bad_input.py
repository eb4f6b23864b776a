"""Bad input gets one clear JSON-RPC error with the standard code, and the node keeps serving."""

from __future__ import annotations

import json
import time

import pytest
import requests
from eth_account import Account

from harness.processes import DEV_ADDRESSES, DEV_KEYS, rpc


def post(url: str, body: bytes | str) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)


def error_of(reply: dict) -> tuple[int, str]:
    return reply["error"]["code"], reply["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"', -32700),
        (b"\xff\xfe not json", -32700),
        (b'"just a string"', -32600),
        (b'{"id":1,"method":"eth_blockNumber"}', -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":42}', -32600),
        (b"[]", -32600),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_noSuchMethod","params":[]}', -32601),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x12","latest"]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["nothex","latest"]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[1,2,3]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xzz",false]}', -32602),
        (b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":{"a":1}}', -32602),
    ],
)
def test_malformed_requests_get_standard_codes(dev_node, body, code):
    reply = post(dev_node.url, body).json()
    assert reply["jsonrpc"] == "2.0"
    assert error_of(reply)[0] == code
    assert rpc(dev_node.url, "eth_chainId") == "0x539"


def test_batches_mix_results_errors_and_notifications(dev_node):
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "nope", "params": []},
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []},  # notification: no reply
        "garbage",
    ]
    replies = post(dev_node.url, json.dumps(batch)).json()
    assert [r.get("id") for r in replies] == [1, 2, None]
    assert replies[0]["result"] == "0x539"
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["error"]["code"] == -32600


def test_oversized_body_and_batch_are_refused(dev_node):
    huge = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["' + b"a" * (6 * 1024 * 1024) + b'"]}'
    resp = post(dev_node.url, huge)
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == -32600
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId", "params": []} for i in range(1001)]
    reply = post(dev_node.url, json.dumps(batch)).json()
    assert error_of(reply) == (-32600, "batch too large (max 1000 requests)")
    assert rpc(dev_node.url, "eth_chainId") == "0x539"


def signed(key: str, **fields) -> str:
    tx = {
        "chainId": 1337,
        "nonce": 0,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
        "gas": 21000,
        "to": DEV_ADDRESSES[0],
        "value": 1,
        **fields,
    }
    return Account.sign_transaction(tx, key).raw_transaction.to_0x_hex()


def refusal(url: str, raw: str) -> tuple[int, str]:
    with pytest.raises(RuntimeError) as info:
        rpc(url, "eth_sendRawTransaction", raw)
    return info.value.args[0], info.value.args[1]


def test_bad_transactions_are_refused_with_geth_texts(dev_node):
    url = dev_node.url
    fresh = Account.create()
    key = DEV_KEYS[2]
    nonce = int(rpc(url, "eth_getTransactionCount", DEV_ADDRESSES[2], "pending"), 16)
    assert refusal(url, "nothex")[0] == -32602
    assert refusal(url, "0x") == (-32000, "typed transaction too short")
    assert refusal(url, "0xdeadbeef")[0] == -32000
    assert refusal(url, "0xc0ffee")[0] == -32000
    assert refusal(url, signed(key, nonce=nonce, chainId=1))[1] == "invalid chain id for signer"
    assert refusal(url, signed(key, nonce=nonce, gas=20_000))[1] == "intrinsic gas too low"
    assert refusal(url, signed(key, nonce=nonce, gas=40_000_000))[1] == "exceeds block gas limit"
    assert refusal(url, signed(fresh.key, value=1))[1] == "insufficient funds for gas * price + value"
    assert refusal(url, signed(key, nonce=nonce, maxFeePerGas=1, maxPriorityFeePerGas=1))[1] == (
        "max fee per gas less than block base fee"
    )
    # a corrupted signature recovers to some other, unfunded account (or to none at all)
    raw = bytearray.fromhex(signed(key, nonce=nonce)[2:])
    raw[-5] ^= 0xFF
    assert refusal(url, "0x" + raw.hex())[1] in (
        "invalid sender",
        "insufficient funds for gas * price + value",
    )
    # nonce rules: too low, already known, replacement needs a 10% bump
    if nonce > 0:
        assert refusal(url, signed(key, nonce=nonce - 1))[1] == "nonce too low"
    future = signed(key, nonce=nonce + 5)
    tx_hash = rpc(url, "eth_sendRawTransaction", future)
    assert refusal(url, future)[1] == "already known"
    assert refusal(url, signed(key, nonce=nonce + 5, value=2))[1] == "replacement transaction underpriced"
    bumped = signed(key, nonce=nonce + 5, value=3, maxFeePerGas=11 * 10**9, maxPriorityFeePerGas=11 * 10**8)
    bumped_hash = rpc(url, "eth_sendRawTransaction", bumped)
    assert bumped_hash != tx_hash
    # the future transaction waits for the gap, then both go in
    assert rpc(url, "eth_getTransactionReceipt", tx_hash) is None
    for n in range(nonce, nonce + 5):
        rpc(url, "eth_sendRawTransaction", signed(key, nonce=n))
    deadline = time.monotonic() + 30
    while rpc(url, "eth_getTransactionReceipt", bumped_hash) is None:
        assert time.monotonic() < deadline, "the gap was filled but the waiting transaction never went in"
        time.sleep(0.05)
    assert rpc(url, "eth_getTransactionCount", DEV_ADDRESSES[2], "latest") == hex(nonce + 6)
    assert rpc(url, "eth_getTransactionByHash", tx_hash) is None  # replaced, gone
    assert rpc(url, "eth_chainId") == "0x539"
