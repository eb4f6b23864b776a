"""geth's TransactionArgs from JSON (eth_call, eth_estimateGas, eth_createAccessList,
eth_simulateV1, eth_sendTransaction, eth_signTransaction).

Every field geth knows is read, and `type` too (geth ignores it; wallets and Foundry send it): a
type must agree with the fields given. Blob fields are refused (the chain has no blob
transactions), and so is a field nobody defines, rather than being dropped.
"""

from __future__ import annotations

from typing import Any

from node.calls.message import CallArgs
from node.errors import SERVER_ERROR, RpcError
from node.rpc import params

QUANTITIES = {
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee",
    "maxPriorityFeePerGas": "max_priority_fee",
    "value": "value",
    "nonce": "nonce",
    "chainId": "chain_id",
    "type": "type_id",
}
BLOB_FIELDS = ("maxFeePerBlobGas", "blobVersionedHashes", "blobs", "commitments", "proofs", "sidecar")
KNOWN = {"from", "to", "data", "input", "accessList", "authorizationList", *QUANTITIES, *BLOB_FIELDS}
BLOBS = "blob transactions are not supported on this chain"
AUTH_FIELDS = (("chainId", "chain_id"), ("address", "address"), ("nonce", "nonce"))
AUTH_FIELDS += (("yParity", "y_parity"), ("r", "r"), ("s", "s"))
# what each transaction type may not carry
NOT_IN_TYPE = {
    0: ("accessList", "maxFeePerGas", "maxPriorityFeePerGas", "authorizationList"),
    1: ("maxFeePerGas", "maxPriorityFeePerGas", "authorizationList"),
    2: ("gasPrice", "authorizationList"),
    4: ("gasPrice",),
}


def bad(arg: int, message: str) -> RpcError:
    return params.bad(f"invalid argument {arg}: {message}")


def parse(value: Any, arg: int = 0) -> CallArgs:
    """A transaction object as `CallArgs` (None for what it leaves out)."""
    if not isinstance(value, dict):
        raise bad(arg, "json: cannot unmarshal non-object into Go value of type ethapi.TransactionArgs")
    unknown = sorted(set(value) - KNOWN)
    if unknown:
        raise bad(arg, f"unknown field {unknown[0]!r} in the transaction object")
    if any(value.get(k) is not None for k in BLOB_FIELDS):
        raise bad(arg, BLOBS)
    fields: dict[str, Any] = {}
    for key, name in QUANTITIES.items():
        if value.get(key) is not None:
            fields[name] = params.quantity(value[key], key)
    if value.get("from") is not None:
        fields["sender"] = params.address(value["from"], "from")
    if value.get("to") is not None:
        fields["to"] = params.address(value["to"], "to")
    fields["data"] = _data(value)
    if value.get("accessList") is not None:
        fields["access_list"] = access_list(value["accessList"], arg)
    if value.get("authorizationList") is not None:
        fields["authorizations"] = authorizations(value["authorizationList"], arg)
    args = CallArgs(**fields)
    _check_type(args, value, arg)
    return args


def _data(value: dict) -> bytes | None:
    data = params.data(value["data"], "data") if value.get("data") is not None else None
    given = params.data(value["input"], "input") if value.get("input") is not None else None
    if data is not None and given is not None and data != given:
        raise RpcError(
            SERVER_ERROR,
            'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data',
        )
    return given if given is not None else data


def access_list(value: Any, arg: int) -> tuple[tuple[bytes, tuple[int, ...]], ...]:
    if not isinstance(value, list):
        raise bad(
            arg, "json: cannot unmarshal non-array into Go struct field accessList of type types.AccessList"
        )
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise bad(arg, "json: cannot unmarshal non-object into Go value of type types.AccessTuple")
        for key in ("address", "storageKeys"):
            if entry.get(key) is None:
                raise bad(arg, f"missing required field '{key}' for AccessTuple")
        keys = entry["storageKeys"]
        if not isinstance(keys, list):
            raise bad(arg, "json: cannot unmarshal non-array into Go struct field storageKeys")
        slots = tuple(int.from_bytes(params.hash32(k, "storageKeys"), "big") for k in keys)
        out.append((params.address(entry["address"], "accessList address"), slots))
    return tuple(out)


def authorizations(value: Any, arg: int) -> tuple[dict, ...]:
    if not isinstance(value, list):
        raise bad(arg, "json: cannot unmarshal non-array into Go struct field authorizationList")
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise bad(
                arg, "json: cannot unmarshal non-object into Go value of type types.SetCodeAuthorization"
            )
        auth = {}
        for key, name in AUTH_FIELDS:
            if entry.get(key) is None:
                raise bad(arg, f"missing required field '{key}' for SetCodeAuthorization")
            auth[name] = (
                params.address(entry[key], key) if key == "address" else params.quantity(entry[key], key)
            )
        out.append(auth)
    return tuple(out)


def _check_type(args: CallArgs, value: dict, arg: int) -> None:
    kind = args.type_id
    if kind is None:
        return
    if kind == 3:
        raise bad(arg, BLOBS)
    if kind not in NOT_IN_TYPE:
        raise bad(arg, f"transaction type {kind:#x} is not supported (0x0, 0x1, 0x2 and 0x4 are)")
    for key in NOT_IN_TYPE[kind]:
        if value.get(key) is not None:
            raise bad(arg, f"a type {kind:#x} transaction has no {key}")
    if kind == 4 and args.authorizations is None:
        raise bad(arg, "a type 0x4 transaction needs an authorizationList")
