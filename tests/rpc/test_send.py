"""eth_sendTransaction and the signing methods for dev accounts, through the clients users reach them
with: web3.py (sync and async: send, speed up, cancel, sign), ethers v6 (JsonRpcSigner: send,
signMessage, signTypedData) and cast (send --unlocked --legacy --gas-price)."""

from __future__ import annotations

import asyncio
import json

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3
from web3.exceptions import Web3RPCError

from harness.processes import DEV_ADDRESSES, DEV_KEYS
from tests.rpc.clients import cast, deploy_calls, ethers, own_node

GWEI = 10**9
A, B, C, D = DEV_ADDRESSES
SLOT = "0x" + "00" * 32


node, w3 = own_node("send")


@pytest.fixture(scope="module")
def calls(w3):
    return deploy_calls(w3, A)


def _mined(w3: Web3, tx_hash) -> dict:
    assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30).status == 1
    return w3.eth.get_transaction(tx_hash)


def test_every_field_of_every_type_is_kept(w3, calls):
    access = [{"address": calls.address, "storageKeys": [SLOT]}]
    nonce = w3.eth.get_transaction_count(B, "pending")
    legacy = _mined(
        w3, w3.eth.send_transaction({"from": B, "to": C, "value": 1, "gasPrice": 3 * GWEI, "nonce": nonce})
    )
    assert (legacy.type, legacy.gasPrice, legacy.nonce, legacy.chainId) == (0, 3 * GWEI, nonce, 1337)
    typed1 = _mined(
        w3,
        w3.eth.send_transaction(
            {"from": B, "to": C, "gasPrice": 2 * GWEI, "accessList": access, "gas": 40_000}
        ),
    )
    assert (typed1.type, typed1.gasPrice, typed1.gas) == (1, 2 * GWEI, 40_000)
    assert [dict(e) for e in typed1.accessList] == [{"address": calls.address, "storageKeys": [SLOT]}]
    fees = {"maxFeePerGas": 7 * GWEI, "maxPriorityFeePerGas": 2 * GWEI}
    dynamic = _mined(
        w3, w3.eth.send_transaction({"from": B, "to": C, "type": 2, **fees, "accessList": access})
    )
    assert (dynamic.type, dynamic.maxFeePerGas, dynamic.maxPriorityFeePerGas) == (2, 7 * GWEI, 2 * GWEI)
    estimate = w3.eth.estimate_gas({"from": B, "to": C, "accessList": access})
    assert dynamic.gas == estimate + 100_000  # web3.py asks its own buffered estimate; it is kept


def test_what_is_left_out_gets_geth_defaults(w3):
    """Sent as raw JSON (web3.py would fill the fields itself): only what is missing is chosen."""
    head = w3.eth.get_block("latest")
    tx = _mined(w3, _raw(w3, "eth_sendTransaction", {"from": B, "to": C, "value": "0x5"}))
    assert (tx.type, tx.gas, tx.maxPriorityFeePerGas, tx.value) == (2, 21_000, GWEI, 5)
    assert tx.maxFeePerGas == 2 * head.baseFeePerGas + GWEI  # geth: 2 × the head's base fee + tip
    assert tx.nonce == w3.eth.get_transaction_count(B) - 1
    typed0 = _mined(w3, _raw(w3, "eth_sendTransaction", {"from": B, "to": C, "type": "0x0"}))
    assert typed0.type == 0 and typed0.gasPrice >= w3.eth.get_block(typed0.blockNumber).baseFeePerGas
    fee_only = _mined(
        w3, _raw(w3, "eth_sendTransaction", {"from": B, "to": C, "maxFeePerGas": hex(9 * GWEI)})
    )
    assert (fee_only.maxFeePerGas, fee_only.maxPriorityFeePerGas) == (9 * GWEI, GWEI)


def test_a_type_4_transaction_delegates_the_account(w3, calls):
    authority = Account.from_key(DEV_KEYS[3])
    nonce = w3.eth.get_transaction_count(D)
    auth = authority.sign_authorization({"chainId": 1337, "address": calls.address, "nonce": nonce})
    data = calls.encode_abi("store", [5])  # runs the delegated code in D's own storage
    tx = _mined(w3, w3.eth.send_transaction({"from": B, "to": D, "data": data, "authorizationList": [auth]}))
    assert tx.type == 4 and len(tx.authorizationList) == 1
    assert tx.authorizationList[0]["address"] == calls.address
    assert w3.eth.get_code(D) == bytes.fromhex("ef0100") + bytes.fromhex(calls.address[2:])
    assert int.from_bytes(w3.eth.get_storage_at(D, 0), "big") == 5


def test_speed_up_and_cancel_by_gas_price(w3, node):
    """web3.py's modify_transaction / replace_transaction send the same nonce at a higher price;
    the node used to re-sign its own fees and answer "already known"."""
    node.rpc("evm_setAutomine", False)
    try:
        first = w3.eth.send_transaction({"from": C, "to": A, "value": 1, "gasPrice": 2 * GWEI})
        faster = w3.eth.modify_transaction(first, gasPrice=3 * GWEI)
        cancel = w3.eth.replace_transaction(faster, {"from": C, "to": C, "value": 0, "gasPrice": 4 * GWEI})
        pool = node.rpc("txpool_content")["pending"][C]
        assert [entry["hash"] for entry in pool.values()] == [cancel.to_0x_hex()]
        node.rpc("evm_mine")
    finally:
        node.rpc("evm_setAutomine", True)
    mined = _mined(w3, cancel)
    assert (mined.to, mined.value, mined.gasPrice) == (C, 0, 4 * GWEI)
    assert node.rpc("eth_getTransactionByHash", first.to_0x_hex()) is None  # replaced, never mined
    assert node.rpc("eth_getTransactionByHash", faster.to_0x_hex()) is None


def test_cast_send_unlocked_legacy_keeps_its_gas_price(node):
    out = cast(
        "send",
        "--unlocked",
        "--from",
        A,
        "--legacy",
        "--gas-price",
        "3gwei",
        C,
        "--value",
        "1",
        "--rpc-url",
        node.url,
        "--json",
    )
    tx_hash = json.loads(out.stdout)["transactionHash"]
    got = json.loads(cast("tx", tx_hash, "--rpc-url", node.url, "--json").stdout)
    assert (got["type"], int(got["gasPrice"], 16)) == ("0x0", 3 * GWEI)


def test_signing_through_web3(w3):
    signature = w3.eth.sign(A, text="hubao")
    assert Account.recover_message(encode_defunct(text="hubao"), signature=signature) == A
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Claim": [{"name": "member", "type": "address"}, {"name": "amount", "type": "uint256"}],
        },
        "primaryType": "Claim",
        "domain": {"name": "Hubao", "chainId": 1337},
        "message": {"member": B, "amount": 100},
    }
    signature = w3.eth.sign_typed_data(A, typed)
    assert Account.recover_message(encode_typed_data(full_message=typed), signature=signature) == A
    signed = w3.eth.sign_transaction(
        {"from": A, "to": C, "value": 1, "gas": 21_000, "gasPrice": 2 * GWEI, "nonce": 900}
    )
    decoded = Account.recover_transaction(signed.raw)
    assert decoded == A and signed.tx["hash"] == Web3.keccak(signed.raw)
    assert (signed.tx["nonce"], signed.tx["gasPrice"], signed.tx["type"]) == (900, 2 * GWEI, 0)


REFUSALS = [
    ({"from": "0x" + "12" * 20, "to": C}, -32000, "unknown account"),
    (
        {"from": A, "to": C, "type": "0x0", "maxFeePerGas": "0x1"},
        -32602,
        "a type 0x0 transaction has no maxFeePerGas",
    ),
    (
        {"from": A, "to": C, "gasPrice": "0x1", "maxFeePerGas": "0x1"},
        -32000,
        "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified",
    ),
    (
        {"from": A, "to": C, "maxFeePerBlobGas": "0x1"},
        -32602,
        "blob transactions are not supported on this chain",
    ),
    ({"from": A, "to": C, "gasLimit": "0x5208"}, -32602, "unknown field 'gasLimit'"),
    ({"from": A}, -32000, "contract creation without any data provided"),
    ({"from": A, "to": C, "chainId": "0x1"}, -32000, "chainId does not match node's (have=1, want=1337)"),
    (
        {"from": A, "to": C, "maxFeePerGas": "0x10", "maxPriorityFeePerGas": "0x20"},
        -32000,
        "maxFeePerGas (16) < maxPriorityFeePerGas (32)",
    ),
]


@pytest.mark.parametrize(("tx", "code", "text"), REFUSALS)
def test_refusals_name_their_reason(w3, tx, code, text):
    with pytest.raises(Web3RPCError) as refused:
        _raw(w3, "eth_sendTransaction", tx)
    assert refused.value.rpc_response["error"]["code"] == code
    assert text in refused.value.rpc_response["error"]["message"]


def _raw(w3: Web3, method: str, *params):
    reply = w3.provider.make_request(method, list(params))
    if "error" in reply:
        raise Web3RPCError(reply["error"]["message"], rpc_response=reply)
    return reply["result"]


def test_sign_transaction_needs_what_geth_needs(w3):
    for tx, text in (
        ({"from": A, "to": C, "gasPrice": "0x1", "nonce": "0x1"}, "gas not specified"),
        (
            {"from": A, "to": C, "gas": "0x5208", "nonce": "0x1"},
            "missing gasPrice or maxFeePerGas/maxPriorityFeePerGas",
        ),
        ({"from": A, "to": C, "gas": "0x5208", "gasPrice": "0x1"}, "nonce not specified"),
    ):
        with pytest.raises(Web3RPCError, match=text.replace("(", r"\(").replace(")", r"\)")):
            _raw(w3, "eth_signTransaction", tx)


def test_async_web3_sends_and_signs(node):
    async def scenario():
        aw3 = AsyncWeb3(AsyncHTTPProvider(node.url))
        tx_hash = await aw3.eth.send_transaction(
            {"from": D, "to": C, "value": 3, "type": 1, "gasPrice": 5 * GWEI}
        )
        receipt = await aw3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        tx = await aw3.eth.get_transaction(tx_hash)
        signature = await aw3.eth.sign(A, text="async")
        return receipt, tx, signature

    receipt, tx, signature = asyncio.run(scenario())
    assert receipt.status == 1 and (tx.type, tx.gasPrice) == (1, 5 * GWEI)
    assert Account.recover_message(encode_defunct(text="async"), signature=signature) == A


ETHERS = r"""
const { ethers } = require("ethers");
(async () => {
  const [url, from, to] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const signer = await provider.getSigner(from);
  const sent = await signer.sendTransaction({ to, value: 7n, type: 1, gasPrice: 4000000000n,
    accessList: [{ address: to, storageKeys: [ethers.ZeroHash] }] });
  const receipt = await sent.wait();
  const mined = await provider.getTransaction(sent.hash);
  const message = await signer.signMessage("hubao");
  const domain = { name: "Hubao", chainId: 1337 };
  const types = { Claim: [{ name: "member", type: "address" }, { name: "amount", type: "uint256" }] };
  const value = { member: to, amount: 100 };
  const typed = await signer.signTypedData(domain, types, value);
  console.log(JSON.stringify({
    status: receipt.status, type: mined.type, gasPrice: mined.gasPrice.toString(),
    accessList: mined.accessList, byMessage: ethers.verifyMessage("hubao", message),
    byTyped: ethers.verifyTypedData(domain, types, value, typed),
  }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_ethers_json_rpc_signer(node, tmp_path):
    got = ethers(tmp_path, ETHERS, node.url, B, C)
    assert (got["status"], got["type"], got["gasPrice"]) == (1, 1, str(4 * GWEI))
    assert got["accessList"] == [{"address": C, "storageKeys": [SLOT]}]
    assert got["byMessage"] == got["byTyped"] == B
