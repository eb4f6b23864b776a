"""The dev node driven by web3.py over HTTP: transfers, a contract, logs, filters, reverts, dev methods."""

from __future__ import annotations

import time

import pytest
import requests
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from harness.processes import DEV_ADDRESSES, DEV_KEYS, rpc


def send(w3: Web3, key: str, **fields) -> dict:
    acct = Account.from_key(key)
    tx = {
        "chainId": 1337,
        "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
        "maxFeePerGas": 2 * w3.eth.gas_price,
        "maxPriorityFeePerGas": w3.eth.max_priority_fee,
        "gas": 21000,
        **fields,
    }
    tx_hash = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)


@pytest.fixture(scope="module")
def probe(w3, probe_artifact):
    factory = w3.eth.contract(abi=probe_artifact["abi"], bytecode=probe_artifact["bytecode"])
    tx_hash = factory.constructor().transact({"from": DEV_ADDRESSES[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    return w3.eth.contract(address=receipt.contractAddress, abi=probe_artifact["abi"])


def test_identity_and_dev_accounts(w3, dev_node):
    assert w3.eth.chain_id == 1337
    assert w3.net.version == "1337"
    assert w3.client_version.startswith("hubao/")
    assert w3.eth.accounts == DEV_ADDRESSES + w3.eth.accounts[4:]
    assert len(w3.eth.accounts) == 10
    assert w3.eth.get_balance(DEV_ADDRESSES[3]) >= 9_999 * 10**18
    assert w3.eth.syncing is False
    assert "Mnemonic:          test test test test test test test test test test test junk" in dev_node.log()
    assert "(0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" in dev_node.log()


def test_transfer_receipt_block_and_balances(w3):
    before_from = w3.eth.get_balance(DEV_ADDRESSES[1])
    before_to = w3.eth.get_balance(DEV_ADDRESSES[2])
    receipt = send(w3, DEV_KEYS[1], to=DEV_ADDRESSES[2], value=12345)
    assert receipt.status == 1 and receipt.gasUsed == 21000
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    assert w3.eth.get_balance(DEV_ADDRESSES[2]) == before_to + 12345
    assert w3.eth.get_balance(DEV_ADDRESSES[1]) == before_from - 12345 - fee
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert block.hash == receipt.blockHash
    assert block.transactions[receipt.transactionIndex].hash == receipt.transactionHash
    assert w3.eth.get_block(block.hash).number == block.number
    tx = w3.eth.get_transaction(receipt.transactionHash)
    assert tx["from"] == DEV_ADDRESSES[1] and tx.value == 12345 and tx.blockNumber == block.number
    # the effective price follows EIP-1559: base fee + tip, within the cap
    assert receipt.effectiveGasPrice == block.baseFeePerGas + tx.maxPriorityFeePerGas
    assert w3.eth.get_block_receipts(block.number)[receipt.transactionIndex].transactionHash == tx.hash
    for tag in ("latest", "pending", "safe", "finalized"):
        assert w3.eth.get_block(tag).number >= block.number
    assert w3.eth.get_block("earliest").number == 0
    assert w3.eth.get_balance(DEV_ADDRESSES[2], block.number - 1) == before_to


def test_contract_storage_events_and_views(w3, probe):
    receipt = w3.eth.wait_for_transaction_receipt(
        probe.functions.store(42, "hello").transact({"from": DEV_ADDRESSES[0]}), timeout=30
    )
    assert receipt.status == 1
    assert probe.functions.value().call() == 42
    assert probe.functions.writes(DEV_ADDRESSES[0]).call() == 1
    slot0 = w3.eth.get_storage_at(probe.address, 0)
    assert int.from_bytes(slot0, "big") == 42
    assert len(w3.eth.get_code(probe.address)) > 100
    events = probe.events.Stored().process_receipt(receipt)
    assert events[0].args.value == 42 and events[0].args.note == "hello"
    logs = w3.eth.get_logs({"address": probe.address, "fromBlock": 0, "toBlock": "latest"})
    assert [lg.transactionHash for lg in logs] == [receipt.transactionHash]
    by_topic = w3.eth.get_logs(
        {"fromBlock": 0, "topics": [None, None, "0x" + (42).to_bytes(32, "big").hex()]}
    )
    assert [lg.transactionHash for lg in by_topic] == [receipt.transactionHash]
    none = w3.eth.get_logs({"fromBlock": 0, "topics": [None, None, "0x" + (43).to_bytes(32, "big").hex()]})
    assert none == []
    future = w3.eth.block_number + 10
    assert w3.eth.get_logs({"address": probe.address, "fromBlock": future, "toBlock": future + 5}) == []
    assert len(w3.eth.get_logs({"address": probe.address, "blockHash": receipt.blockHash})) == 1


def test_reverts_carry_reason_and_custom_error_data(w3, probe):
    with pytest.raises(ContractLogicError, match="probe says no"):
        probe.functions.fail().call()
    with pytest.raises(ContractCustomError) as info:
        probe.functions.store(2_000_000, "x").call({"from": DEV_ADDRESSES[0]})
    selector = Web3.keccak(text="TooBig(uint256,uint256)")[:4]
    assert info.value.data.startswith("0x" + selector.hex())
    # the raw reply is geth's: code 3, message, data = revert bytes
    call = {"to": probe.address, "data": probe.encode_abi("fail")}
    with pytest.raises(RuntimeError) as raw:
        rpc(w3.provider.endpoint_uri, "eth_call", call, "latest")
    code, message, data = raw.value.args
    assert code == 3 and message == "execution reverted: probe says no" and data.startswith("0x08c379a0")
    with pytest.raises(RuntimeError) as est:
        rpc(w3.provider.endpoint_uri, "eth_estimateGas", {**call, "from": DEV_ADDRESSES[0]})
    assert est.value.args[0] == 3


def test_estimate_gas_is_enough_and_tight(w3, probe):
    estimate = probe.functions.burn(20).estimate_gas({"from": DEV_ADDRESSES[0]})
    assert estimate > 20 * 20_000
    receipt = w3.eth.wait_for_transaction_receipt(
        probe.functions.burn(20).transact({"from": DEV_ADDRESSES[0], "gas": estimate}), timeout=30
    )
    assert receipt.status == 1
    assert w3.eth.estimate_gas({"from": DEV_ADDRESSES[0], "to": DEV_ADDRESSES[1], "value": 1}) == 21000
    # calldata-heavy: Prague's floor (EIP-7623, 10 gas per token) is above the execution cost
    heavy = {"from": DEV_ADDRESSES[0], "to": DEV_ADDRESSES[1], "data": "0x" + "01" * 1000}
    assert w3.eth.estimate_gas(heavy) == 21000 + 40 * 1000
    receipt = send(w3, DEV_KEYS[0], to=DEV_ADDRESSES[1], data=b"\x01" * 1000, gas=61000)
    assert receipt.status == 1 and receipt.gasUsed == 61000


def test_polling_filters(w3, probe):
    block_filter = w3.eth.filter("latest")
    log_filter = w3.eth.filter({"address": probe.address})
    receipt = w3.eth.wait_for_transaction_receipt(
        probe.functions.store(7, "filtered").transact({"from": DEV_ADDRESSES[0]}), timeout=30
    )
    assert receipt.blockHash in block_filter.get_new_entries()
    changes = log_filter.get_new_entries()
    assert [c.transactionHash for c in changes] == [receipt.transactionHash]
    assert log_filter.get_new_entries() == []
    assert receipt.transactionHash in [lg.transactionHash for lg in log_filter.get_all_entries()]
    assert w3.eth.uninstall_filter(block_filter.filter_id) is True
    assert w3.eth.uninstall_filter(block_filter.filter_id) is False


def test_fee_history_and_gas_price(w3):
    history = w3.eth.fee_history(3, "latest", [10, 50, 90])
    assert len(history.baseFeePerGas) == len(history.gasUsedRatio) + 1
    assert all(len(r) == 3 for r in history.reward)
    latest = w3.eth.get_block("latest")
    assert history.baseFeePerGas[-2] == latest.baseFeePerGas
    assert w3.eth.gas_price > w3.eth.max_priority_fee > 0


def test_dev_time_snapshot_and_revert(w3, dev_node):
    url = dev_node.url
    snap = rpc(url, "evm_snapshot")
    height = w3.eth.block_number
    balance = w3.eth.get_balance(DEV_ADDRESSES[3])
    receipt = send(w3, DEV_KEYS[3], to=DEV_ADDRESSES[0], value=10**18)
    assert w3.eth.get_balance(DEV_ADDRESSES[3]) < balance
    assert rpc(url, "evm_increaseTime", 3600) >= 3600
    rpc(url, "evm_mine")
    assert w3.eth.get_block("latest").timestamp >= time.time() + 3600 - 5
    target = w3.eth.get_block("latest").timestamp + 86_400
    rpc(url, "evm_setNextBlockTimestamp", target)
    rpc(url, "evm_mine")
    assert w3.eth.get_block("latest").timestamp == target
    assert rpc(url, "evm_revert", snap) is True
    assert w3.eth.block_number == height
    assert w3.eth.get_balance(DEV_ADDRESSES[3]) == balance
    assert rpc(url, "eth_getTransactionReceipt", receipt.transactionHash.to_0x_hex()) is None
    assert rpc(url, "evm_revert", snap) is False
    # the chain goes on from the reverted head
    assert send(w3, DEV_KEYS[3], to=DEV_ADDRESSES[0], value=1).blockNumber == height + 1


def test_metrics_endpoint(w3, dev_node):
    text = requests.get(dev_node.url + "/metrics", timeout=10).text
    assert f"hubao_chain_height {float(w3.eth.block_number)}" in text
    assert "hubao_txpool_size" in text
    assert "hubao_transactions_per_second" in text
    assert 'hubao_rpc_latency_seconds_count{method="eth_chainId"}' in text
