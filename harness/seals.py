"""A block as JSON-RPC returns it, checked without trusting the node that returned it: its header
rebuilt from the fields (and checked against its hash), its QBFT commit seals recovered."""

from __future__ import annotations

from node.qbft.extradata import ExtraData, block_hash, seal_digest
from node.qbft.keys import recover
from node.qbft.validators import quorum
from node.vm import HeaderClass


def assert_sealed(block: dict) -> None:
    """A quorum of distinct seals, each recovering to a validator listed for this block."""
    number = int(block["number"], 16)
    extra = ExtraData.decode(bytes.fromhex(block["extraData"][2:]))
    validators = {bytes(v) for v in extra.validators}
    authors = [recover(seal_digest_of(block), s) for s in extra.seals]
    assert len(set(authors)) == len(authors), f"block {number}: duplicate seals"
    assert set(authors) <= validators, f"block {number}: sealed by a non-validator"
    assert len(authors) >= quorum(len(validators)), f"block {number}: {len(authors)} seals"


FIELDS = {  # py-evm header field <- JSON-RPC block field
    "parent_hash": "parentHash", "uncles_hash": "sha3Uncles", "coinbase": "miner", "state_root": "stateRoot",
    "transaction_root": "transactionsRoot", "receipt_root": "receiptsRoot", "bloom": "logsBloom",
    "difficulty": "difficulty", "block_number": "number", "gas_limit": "gasLimit", "gas_used": "gasUsed",
    "timestamp": "timestamp", "extra_data": "extraData", "mix_hash": "mixHash", "nonce": "nonce",
    "base_fee_per_gas": "baseFeePerGas", "withdrawals_root": "withdrawalsRoot",
    "blob_gas_used": "blobGasUsed", "excess_blob_gas": "excessBlobGas",
    "parent_beacon_block_root": "parentBeaconBlockRoot", "requests_hash": "requestsHash",
}  # fmt: skip
INTS = {"bloom", "difficulty", "block_number", "gas_limit", "gas_used", "timestamp", "base_fee_per_gas",
        "blob_gas_used", "excess_blob_gas"}  # fmt: skip


def seal_digest_of(block: dict) -> bytes:
    """Rebuild the header from its JSON-RPC fields (checked against the block hash); its seal digest."""
    fields = {
        name: int(block[key], 16) if name in INTS else bytes.fromhex(block[key][2:])
        for name, key in FIELDS.items()
    }
    header = HeaderClass(**fields)
    assert "0x" + block_hash(header).hex() == block["hash"], f"block {block['number']}: header mismatch"
    return seal_digest(header)
