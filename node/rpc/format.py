"""py-evm objects -> the JSON shapes geth returns."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI


def hx(value: int) -> str:
    return hex(value)


def hb(value: bytes) -> str:
    return "0x" + value.hex()


def address_or_none(value: bytes) -> str | None:
    return hb(value) if value else None


def header_json(header: BlockHeaderAPI, size: int | None = None) -> dict[str, Any]:
    out = {
        "number": hx(header.block_number),
        "hash": hb(header.hash),
        "parentHash": hb(header.parent_hash),
        "nonce": hb(header.nonce),
        "mixHash": hb(header.mix_hash),
        "sha3Uncles": hb(header.uncles_hash),
        "logsBloom": hb(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": hb(header.transaction_root),
        "stateRoot": hb(header.state_root),
        "receiptsRoot": hb(header.receipt_root),
        "miner": hb(header.coinbase),
        "difficulty": hx(header.difficulty),
        "totalDifficulty": "0x0",
        "extraData": hb(header.extra_data),
        "gasLimit": hx(header.gas_limit),
        "gasUsed": hx(header.gas_used),
        "timestamp": hx(header.timestamp),
        "baseFeePerGas": hx(header.base_fee_per_gas),
        "withdrawalsRoot": hb(header.withdrawals_root),
        "blobGasUsed": hx(header.blob_gas_used),
        "excessBlobGas": hx(header.excess_blob_gas),
        "parentBeaconBlockRoot": hb(header.parent_beacon_block_root),
        "requestsHash": hb(header.requests_hash),
    }
    if size is not None:
        out["size"] = hx(size)
    return out


def block_json(block: BlockAPI, full: bool) -> dict[str, Any]:
    out = header_json(block.header, size=len(rlp.encode(block)))
    header = block.header
    if full:
        out["transactions"] = [tx_json(tx, header, i) for i, tx in enumerate(block.transactions)]
    else:
        out["transactions"] = [hb(tx.hash) for tx in block.transactions]
    out["uncles"] = []
    out["withdrawals"] = [
        {
            "index": hx(w.index),
            "validatorIndex": hx(w.validator_index),
            "address": hb(w.address),
            "amount": hx(w.amount),
        }
        for w in block.withdrawals
    ]
    return out


def effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    if tx.type_id in (None, 1):
        return tx.gas_price
    return min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)


def tx_json(tx: SignedTransactionAPI, header: BlockHeaderAPI | None = None, index: int | None = None) -> dict:
    type_id = tx.type_id or 0
    out: dict[str, Any] = {
        "type": hx(type_id),
        "hash": hb(tx.hash),
        "nonce": hx(tx.nonce),
        "blockHash": hb(header.hash) if header is not None else None,
        "blockNumber": hx(header.block_number) if header is not None else None,
        "blockTimestamp": hx(header.timestamp) if header is not None else None,
        "transactionIndex": hx(index) if index is not None else None,
        "from": hb(tx.sender),
        "to": address_or_none(tx.to),
        "value": hx(tx.value),
        "gas": hx(tx.gas),
        "input": hb(tx.data),
        "r": hx(tx.r),
        "s": hx(tx.s),
    }
    if tx.chain_id is not None:  # geth leaves it out of a legacy transaction without EIP-155
        out["chainId"] = hx(tx.chain_id)
    if type_id == 0:
        out["v"] = hx(tx.v)
        out["gasPrice"] = hx(tx.gas_price)
    else:
        out["v"] = hx(tx.y_parity)
        out["yParity"] = hx(tx.y_parity)
        out["accessList"] = access_list_json(tx.access_list)
        if type_id == 1:
            out["gasPrice"] = hx(tx.gas_price)
        else:
            out["maxFeePerGas"] = hx(tx.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = hx(tx.max_priority_fee_per_gas)
            if header is not None:
                out["gasPrice"] = hx(effective_gas_price(tx, header.base_fee_per_gas))
            else:
                out["gasPrice"] = hx(tx.max_fee_per_gas)
        if type_id == 4:
            out["authorizationList"] = [authorization_json(auth) for auth in tx.authorization_list]
    return out


def authorization_json(auth) -> dict:
    """geth's SetCodeAuthorization JSON."""
    return {
        "chainId": hx(auth.chain_id),
        "address": hb(auth.address),
        "nonce": hx(auth.nonce),
        "yParity": hx(auth.y_parity),
        "r": hx(auth.r),
        "s": hx(auth.s),
    }


def log_json(log, header: BlockHeaderAPI, tx_hash: bytes, tx_index: int, log_index: int) -> dict:
    return {
        "address": hb(log.address),
        "topics": [hb(t.to_bytes(32, "big")) for t in log.topics],
        "data": hb(log.data),
        "blockNumber": hx(header.block_number),
        "blockHash": hb(header.hash),
        "blockTimestamp": hx(header.timestamp),
        "transactionHash": hb(tx_hash),
        "transactionIndex": hx(tx_index),
        "logIndex": hx(log_index),
        "removed": False,
    }


def receipts_json(
    block: BlockAPI,
    receipts: tuple[ReceiptAPI, ...],
    revert_data: Callable[[bytes], bytes | None] | None = None,
) -> list[dict]:
    """All receipts of a block; log indexes and gas used need the block's earlier receipts.

    With `revert_data` (Besu's --revert-reason-enabled), a failed transaction's receipt carries
    `revertReason`: the revert data of its own execution at its place in the block.
    """
    header = block.header
    out = []
    log_index = 0
    previous_cumulative = 0
    for i, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        sender = tx.sender
        logs = []
        for lg in receipt.logs:
            logs.append(log_json(lg, header, tx.hash, i, log_index))
            log_index += 1
        contract = None
        if not tx.to:
            contract = hb(generate_contract_address(sender, tx.nonce))
        reply = {
            "type": hx(tx.type_id or 0),
            "transactionHash": hb(tx.hash),
            "transactionIndex": hx(i),
            "blockHash": hb(header.hash),
            "blockNumber": hx(header.block_number),
            "from": hb(sender),
            "to": address_or_none(tx.to),
            "cumulativeGasUsed": hx(receipt.gas_used),
            "gasUsed": hx(receipt.gas_used - previous_cumulative),
            "effectiveGasPrice": hx(effective_gas_price(tx, header.base_fee_per_gas)),
            "contractAddress": contract,
            "logs": logs,
            "logsBloom": hb(receipt.bloom.to_bytes(256, "big")),
            "status": "0x1" if receipt.state_root == b"\x01" else "0x0",
        }
        if revert_data is not None and reply["status"] == "0x0":
            data = revert_data(tx.hash)
            if data is not None:
                reply["revertReason"] = hb(data)
        out.append(reply)
        previous_cumulative = receipt.gas_used
    return out


def access_list_json(access_list) -> list[dict]:
    return [
        {"address": hb(address), "storageKeys": [hb(slot.to_bytes(32, "big")) for slot in slots]}
        for address, slots in access_list
    ]


def signed_tx_json(tx: SignedTransactionAPI) -> dict[str, Any]:
    """geth's types.Transaction JSON (eth_signTransaction's `tx`): the signed fields, the fee fields
    a type lacks as null, and the hash; no sender or block."""
    type_id = tx.type_id or 0
    legacy_price = type_id in (0, 1)
    out: dict[str, Any] = {"type": hx(type_id)}
    if type_id or tx.chain_id is not None:
        out["chainId"] = hx(tx.chain_id)
    out |= {
        "nonce": hx(tx.nonce),
        "to": address_or_none(tx.to),
        "gas": hx(tx.gas),
        "gasPrice": hx(tx.gas_price) if legacy_price else None,
        "maxPriorityFeePerGas": None if legacy_price else hx(tx.max_priority_fee_per_gas),
        "maxFeePerGas": None if legacy_price else hx(tx.max_fee_per_gas),
        "value": hx(tx.value),
        "input": hb(tx.data),
    }
    if type_id:
        out["accessList"] = access_list_json(tx.access_list)
    if type_id == 4:
        out["authorizationList"] = [authorization_json(auth) for auth in tx.authorization_list]
    out |= {"v": hx(tx.v if not type_id else tx.y_parity), "r": hx(tx.r), "s": hx(tx.s)}
    if type_id:
        out["yParity"] = hx(tx.y_parity)
    out["hash"] = hb(tx.hash)
    return out


def as_json(obj: Any) -> str:
    """The compact JSON text every reply and notification is sent as."""
    return json.dumps(obj, separators=(",", ":"))
