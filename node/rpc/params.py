"""Parsing JSON-RPC parameters; every malformed value is a -32602 with a message saying which."""

from __future__ import annotations

from typing import Any

from node.errors import INVALID_PARAMS, RpcError

BLOCK_TAGS = ("latest", "earliest", "pending", "safe", "finalized")


def bad(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def quantity(value: Any, name: str = "quantity") -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or not value.startswith(("0x", "0X")) or len(value) < 3:
        raise bad(f"invalid argument: {name}: hex string without 0x prefix or empty")
    try:
        return int(value, 16)
    except ValueError:
        raise bad(f"invalid argument: {name}: invalid hex string") from None


def data(value: Any, name: str = "data") -> bytes:
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        raise bad(f"invalid argument: {name}: hex string without 0x prefix")
    body = value[2:]
    if len(body) % 2:
        raise bad(f"invalid argument: {name}: hex string of odd length")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise bad(f"invalid argument: {name}: invalid hex string") from None


def address(value: Any, name: str = "address") -> bytes:
    raw = data(value, name)
    if len(raw) != 20:
        raise bad(
            f"invalid argument: {name}: hex string has length {len(raw) * 2}, want 40 for common.Address"
        )
    return raw


def hash32(value: Any, name: str = "hash") -> bytes:
    raw = data(value, name)
    if len(raw) != 32:
        raise bad(f"invalid argument: {name}: hex string has length {len(raw) * 2}, want 64 for common.Hash")
    return raw


def block_id(value: Any) -> str | int | bytes:
    """A tag, a number, a block hash, or an EIP-1898 object {blockNumber | blockHash}."""
    if value is None:
        return "latest"
    if isinstance(value, dict):
        if "blockHash" in value:
            return hash32(value["blockHash"], "blockHash")
        if "blockNumber" in value:
            return block_id(value["blockNumber"])
        raise bad("invalid argument: block: expected blockNumber or blockHash")
    if isinstance(value, str) and value in BLOCK_TAGS:
        return value
    if isinstance(value, str) and len(value) == 66:
        return hash32(value, "block")
    return quantity(value, "block number")


def call_object(value: Any) -> dict:
    """eth_call / eth_estimateGas transaction object -> dict with decoded fields."""
    if not isinstance(value, dict):
        raise bad("invalid argument 0: expected a transaction object")
    tx: dict[str, Any] = {}
    if value.get("from") is not None:
        tx["from"] = address(value["from"], "from")
    if value.get("to") is not None:
        tx["to"] = address(value["to"], "to")
    for key in ("gas", "gasPrice", "value", "maxFeePerGas", "maxPriorityFeePerGas", "nonce"):
        if value.get(key) is not None:
            tx[key] = quantity(value[key], key)
    payload = value.get("input", value.get("data"))
    if payload is not None:
        tx["data"] = data(payload, "input")
    if "gasPrice" not in tx and "maxFeePerGas" in tx:
        tx["gasPrice"] = tx["maxFeePerGas"]
    return tx
