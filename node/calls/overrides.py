"""geth's state and block overrides (internal/ethapi/override), applied to a py-evm state and the
header a call runs in. node/rpc/overrides.py parses them from JSON.

State overrides are applied in address order, as geth does, so its refusals come in the same
order; precompiles are moved or replaced by a computation class of the call's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from eth_utils import to_checksum_address

from node.errors import SERVER_ERROR, RpcError


@dataclass(frozen=True)
class AccountOverride:
    nonce: int | None = None
    code: bytes | None = None
    balance: int | None = None
    state: Mapping[int, int] | None = None
    state_diff: Mapping[int, int] | None = None
    move_precompile_to: bytes | None = None


StateOverrides = Mapping[bytes, AccountOverride]


@dataclass(frozen=True)
class BlockOverrides:
    number: int | None = None
    difficulty: int | None = None
    time: int | None = None
    gas_limit: int | None = None
    fee_recipient: bytes | None = None
    prev_randao: bytes | None = None
    base_fee: int | None = None
    blob_base_fee: int | None = None
    beacon_root: bytes | None = None
    withdrawals: tuple | None = None

    def given(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def refuse_simulation_fields(self) -> None:
        """eth_call and eth_estimateGas take neither (geth's BlockOverrides.Apply)."""
        for name, key in (("beacon_root", "beaconRoot"), ("withdrawals", "withdrawals")):
            if getattr(self, name) is not None:
                raise RpcError(SERVER_ERROR, f'block override "{key}" is not supported for this RPC method')

    def header_fields(self) -> dict[str, Any]:
        """The py-evm header fields these overrides set (geth's MakeHeader; difficulty is a no-op
        after the merge, blob base fee is the state's, not the header's)."""
        out: dict[str, Any] = {}
        pairs = (
            ("number", "block_number"),
            ("time", "timestamp"),
            ("gas_limit", "gas_limit"),
            ("fee_recipient", "coinbase"),
            ("prev_randao", "mix_hash"),
            ("base_fee", "base_fee_per_gas"),
        )
        for ours, header in pairs:
            value = getattr(self, ours)
            if value is not None:
                out[header] = value
        return out


def _refuse(message: str) -> RpcError:
    return RpcError(SERVER_ERROR, message)


def apply_state(state: Any, overrides: StateOverrides | None, precompiles: dict) -> dict:
    """Apply `overrides` to `state`; returns the precompiles the call sees (moved or removed)."""
    if not overrides:
        return precompiles
    precompiles = dict(precompiles)
    moved_to: set[bytes] = set()
    for address in sorted(overrides):
        account = overrides[address]
        name = to_checksum_address(address)
        if address in moved_to:
            raise _refuse(f"account {name} has already been overridden by a precompile")
        is_precompile = address in precompiles
        if account.move_precompile_to is not None:
            target = account.move_precompile_to
            if not is_precompile:
                raise _refuse(f"account {name} is not a precompile")
            if target in overrides:
                raise _refuse(f"account {to_checksum_address(target)} is already overridden")
            precompiles[target] = precompiles[address]
            moved_to.add(target)
        if is_precompile:
            del precompiles[address]
        _apply_account(state, address, account, name)
    state.lock_changes()  # the overrides are the state the call starts from (geth's Finalise)
    return precompiles


def _apply_account(state: Any, address: bytes, account: AccountOverride, name: str) -> None:
    if account.nonce is not None:
        state.set_nonce(address, account.nonce)
    if account.code is not None:
        state.set_code(address, account.code)
    if account.balance is not None:
        state.set_balance(address, account.balance)
    if account.state is not None and account.state_diff is not None:
        raise _refuse(f"account {name} has both 'state' and 'stateDiff'")
    if account.state is not None:
        state.delete_storage(address)
        for slot, value in account.state.items():
            state.set_storage(address, slot, value)
    for slot, value in (account.state_diff or {}).items():
        state.set_storage(address, slot, value)
