"""geth's state overrides ({address: {nonce, code, balance, state, stateDiff,
movePrecompileToAddress}}) and block overrides ({number, difficulty, time, gasLimit, feeRecipient,
prevRandao, baseFeePerGas, blobBaseFee, beaconRoot, withdrawals}) from JSON.

Block override keys match case-insensitively, as Go's decoder matches geth's untagged struct; a
key geth does not define is refused rather than dropped.
"""

from __future__ import annotations

from typing import Any

from node.calls.overrides import AccountOverride, BlockOverrides, StateOverrides
from node.rpc import params

ACCOUNT_KEYS = {
    "nonce": "nonce",
    "code": "code",
    "balance": "balance",
    "state": "state",
    "stateDiff": "state_diff",
    "movePrecompileToAddress": "move_precompile_to",
}
BLOCK_KEYS = {
    "number": ("number", params.quantity),
    "difficulty": ("difficulty", params.quantity),
    "time": ("time", params.quantity),
    "gaslimit": ("gas_limit", params.quantity),
    "feerecipient": ("fee_recipient", params.address),
    "prevrandao": ("prev_randao", params.hash32),
    "basefeepergas": ("base_fee", params.quantity),
    "blobbasefee": ("blob_base_fee", params.quantity),
    "beaconroot": ("beacon_root", params.hash32),
}


def _bad(arg: int, message: str):
    return params.bad(f"invalid argument {arg}: {message}")


def state_overrides(value: Any, arg: int) -> StateOverrides | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(arg, "json: cannot unmarshal non-object into Go value of type override.StateOverride")
    out = {}
    for address, account in value.items():
        key = params.address(address, "state override address")
        if key in out:
            raise _bad(arg, f"address {address} is overridden twice")
        out[key] = _account(account, arg)
    return out


def _account(value: Any, arg: int) -> AccountOverride:
    if not isinstance(value, dict):
        raise _bad(arg, "json: cannot unmarshal non-object into Go value of type override.OverrideAccount")
    unknown = sorted(set(value) - set(ACCOUNT_KEYS))
    if unknown:
        raise _bad(arg, f"unknown state override field {unknown[0]!r} (known: {', '.join(ACCOUNT_KEYS)})")
    fields: dict[str, Any] = {}
    if value.get("nonce") is not None:
        fields["nonce"] = params.quantity(value["nonce"], "nonce")
    if value.get("code") is not None:
        fields["code"] = params.data(value["code"], "code")
    if value.get("balance") is not None:
        fields["balance"] = params.quantity(value["balance"], "balance")
    for key in ("state", "stateDiff"):
        if value.get(key) is not None:
            fields[ACCOUNT_KEYS[key]] = _slots(value[key], key, arg)
    if value.get("movePrecompileToAddress") is not None:
        fields["move_precompile_to"] = params.address(
            value["movePrecompileToAddress"], "movePrecompileToAddress"
        )
    return AccountOverride(**fields)


def _slots(value: Any, key: str, arg: int) -> dict[int, int]:
    if not isinstance(value, dict):
        raise _bad(arg, f"json: cannot unmarshal non-object into Go struct field OverrideAccount.{key}")
    return {
        int.from_bytes(params.hash32(slot, f"{key} slot"), "big"): int.from_bytes(
            params.hash32(word, f"{key} value"), "big"
        )
        for slot, word in value.items()
    }


def block_overrides(value: Any, arg: int) -> BlockOverrides | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad(arg, "json: cannot unmarshal non-object into Go value of type override.BlockOverrides")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        lowered = key.lower()
        if lowered == "withdrawals":
            fields["withdrawals"] = withdrawals(item, arg) if item is not None else None
            continue
        if lowered not in BLOCK_KEYS:
            known = "number, difficulty, time, gasLimit, feeRecipient, prevRandao, baseFeePerGas, "
            raise _bad(
                arg, f"unknown block override {key!r} (known: {known}blobBaseFee, beaconRoot, withdrawals)"
            )
        if item is not None:
            name, parse = BLOCK_KEYS[lowered]
            fields[name] = parse(item, key)
    return BlockOverrides(**fields)


def withdrawals(value: Any, arg: int) -> tuple[tuple[int, int, bytes, int], ...]:
    """(index, validatorIndex, address, amount in gwei) of each withdrawal."""
    if not isinstance(value, list):
        raise _bad(arg, "json: cannot unmarshal non-array into Go struct field withdrawals")
    out = []
    for entry in value:
        if not isinstance(entry, dict):
            raise _bad(arg, "json: cannot unmarshal non-object into Go value of type types.Withdrawal")
        try:
            out.append(
                (
                    params.quantity(entry["index"], "index"),
                    params.quantity(entry["validatorIndex"], "validatorIndex"),
                    params.address(entry["address"], "address"),
                    params.quantity(entry["amount"], "amount"),
                )
            )
        except KeyError as exc:
            raise _bad(arg, f"missing required field '{exc.args[0]}' for Withdrawal") from None
    return tuple(out)
