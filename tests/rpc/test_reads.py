"""Reads that answered wrongly or not at all, through web3.py, ethers v6 and cast: the pending
block, raw transactions, the blob base fee, the pool (geth's txpool_*), a type-4 transaction's
authorizationList, and eth_getLogs' range and topic rules."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import Web3RPCError

from harness.processes import DEV_ADDRESSES, DEV_KEYS
from tests.rpc.clients import cast, deploy_calls, ethers, own_node

A, B, C, D = DEV_ADDRESSES
GWEI = 10**9


node, w3 = own_node("reads")


@pytest.fixture(scope="module")
def calls(w3):
    return deploy_calls(w3, A)


def _signed(w3: Web3, key: str, **fields) -> bytes:
    account = Account.from_key(key)
    tx = {"chainId": 1337, "nonce": w3.eth.get_transaction_count(account.address, "pending"), "gas": 21_000}
    fees = {} if "gasPrice" in fields else {"maxFeePerGas": 50 * GWEI, "maxPriorityFeePerGas": GWEI}
    tx |= {"to": C, "value": 1, **fees, **fields}
    return bytes(account.sign_transaction(tx).raw_transaction)


def test_the_pending_block_and_the_pool(w3, node):
    node.rpc("evm_setAutomine", False)
    try:
        waiting = w3.eth.send_raw_transaction(_signed(w3, DEV_KEYS[1]))
        gap = _signed(w3, DEV_KEYS[2], nonce=w3.eth.get_transaction_count(C) + 2, gasPrice=3 * GWEI)
        queued = w3.eth.send_raw_transaction(gap)
        latest, pending = w3.eth.get_block("latest"), w3.eth.get_block("pending")
        assert pending.number == latest.number + 1 and pending.parentHash == latest.hash
        assert pending.hash is None and pending.miner is None and pending.nonce is None
        assert list(pending.transactions) == [waiting]
        content, inspect = w3.geth.txpool.content(), w3.geth.txpool.inspect()
        status = w3.geth.txpool.status()
        assert (status.pending, status.queued) == ("0x1", "0x1")
        nonce = str(w3.eth.get_transaction_count(C) + 2)
        assert content["pending"][B][str(w3.eth.get_transaction_count(B))]["hash"] == waiting.to_0x_hex()
        assert content["queued"][C][nonce]["hash"] == queued.to_0x_hex()
        assert inspect["queued"][C][nonce] == f"{C}: 1 wei + 21000 gas × {3 * GWEI} wei"
        assert node.rpc("eth_getBlockTransactionCountByNumber", "pending") == "0x1"
        assert cast(
            "tx", waiting.to_0x_hex(), "--raw", "--rpc-url", node.url
        ).stdout.strip() == "0x" + _raw_of(node, waiting)
    finally:
        node.rpc("evm_setAutomine", True)
        node.rpc("anvil_dropAllTransactions")


def _raw_of(node, tx_hash) -> str:
    return node.rpc("eth_getRawTransactionByHash", tx_hash.to_0x_hex())[2:]


def test_raw_transactions_are_the_signed_bytes(w3, node):
    raw = _signed(w3, DEV_KEYS[0])
    tx_hash = w3.eth.send_raw_transaction(raw)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert node.rpc("eth_getRawTransactionByHash", tx_hash.to_0x_hex()) == "0x" + raw.hex()
    at = (hex(receipt.blockNumber), hex(receipt.transactionIndex))
    assert node.rpc("eth_getRawTransactionByBlockNumberAndIndex", *at) == "0x" + raw.hex()
    assert (
        node.rpc("eth_getRawTransactionByBlockHashAndIndex", receipt.blockHash.to_0x_hex(), at[1])
        == "0x" + raw.hex()
    )
    assert node.rpc("eth_getRawTransactionByHash", "0x" + "ab" * 32) == "0x"  # geth's answer for none
    assert w3.eth.blob_base_fee == 1
    assert cast("rpc", "eth_blobBaseFee", "--rpc-url", node.url).stdout.strip() == '"0x1"'


ETHERS = r"""
const { ethers } = require("ethers");
(async () => {
  const [url, hash] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const tx = await provider.getTransaction(hash);
  console.log(JSON.stringify({ type: tx.type, auth: tx.authorizationList.map((a) => ({
    address: a.address, nonce: a.nonce.toString(), chainId: a.chainId.toString() })) }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_a_type_4_transaction_shows_its_authorizations_to_ethers(w3, node, calls, tmp_path):
    authority = Account.from_key(DEV_KEYS[3])
    auth = authority.sign_authorization(
        {"chainId": 1337, "address": calls.address, "nonce": w3.eth.get_transaction_count(D)}
    )
    sender = Account.from_key(DEV_KEYS[1])
    tx = {"type": 4, "chainId": 1337, "nonce": w3.eth.get_transaction_count(B), "to": D, "gas": 100_000}
    tx |= {"maxFeePerGas": 50 * GWEI, "maxPriorityFeePerGas": GWEI, "value": 0, "authorizationList": [auth]}
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    w3.eth.wait_for_transaction_receipt(tx_hash)
    got = ethers(tmp_path, ETHERS, node.url, tx_hash.to_0x_hex())
    assert got == {
        "type": 4,
        "auth": [{"address": calls.address, "nonce": str(auth.nonce), "chainId": "1337"}],
    }


def test_get_logs_ranges_and_topic_positions(w3, calls):
    receipt = w3.eth.wait_for_transaction_receipt(calls.functions.store(9).transact({"from": A, "value": 2}))
    block = receipt.blockNumber
    stored = Web3.keccak(text="Stored(address,uint256,uint256)").to_0x_hex()
    three = w3.eth.get_logs(
        {"address": calls.address, "fromBlock": block, "toBlock": block, "topics": [stored, None, None]}
    )
    assert len(three) == 1
    four = {
        "address": calls.address,
        "fromBlock": block,
        "toBlock": block,
        "topics": [stored, None, None, None],
    }
    assert w3.eth.get_logs(four) == []  # the log has three topics: a fourth position matches nothing
    with pytest.raises(Web3RPCError) as refused:
        w3.eth.get_logs({"fromBlock": block, "toBlock": block - 1})
    assert refused.value.rpc_response["error"] == {"code": -32602, "message": "invalid block range params"}
    with pytest.raises(Web3RPCError, match="pending logs are not supported"):
        w3.eth.get_logs({"fromBlock": block, "toBlock": "pending"})
    logs = json.loads(
        cast(
            "logs",
            "--address",
            calls.address,
            "--from-block",
            str(block),
            "--to-block",
            str(block),
            "--rpc-url",
            w3.provider.endpoint_uri,
            "--json",
        ).stdout
    )
    assert [lg["transactionHash"] for lg in logs] == [receipt.transactionHash.to_0x_hex()]
