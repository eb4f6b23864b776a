"""Genesis: a geth-style genesis.json (config.chainId, alloc, gasLimit, extraData, ...) and dev accounts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_canonical_address

DEV_CHAIN_ID = 1337
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_BALANCE = 10_000 * 10**18
DEFAULT_GAS_LIMIT = 30_000_000
INITIAL_BASE_FEE = 1_000_000_000


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value, 16) if str(value).startswith("0x") else int(value)


def _bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


@dataclass
class Genesis:
    chain_id: int = DEV_CHAIN_ID
    gas_limit: int = DEFAULT_GAS_LIMIT
    timestamp: int = 0
    extra_data: bytes = b""
    base_fee: int = INITIAL_BASE_FEE
    coinbase: bytes = b"\0" * 20
    # address -> {"balance": int, "nonce": int, "code": bytes, "storage": {int: int}}
    alloc: dict[bytes, dict[str, Any]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)  # the raw "config" (qbft settings, ...)

    @classmethod
    def from_json(cls, data: dict | str | Path) -> Genesis:
        if not isinstance(data, dict):
            data = json.loads(Path(data).read_text())
        alloc = {}
        for address, account in data.get("alloc", {}).items():
            if not address.startswith("0x"):
                address = "0x" + address
            alloc[to_canonical_address(address)] = {
                "balance": _int(account.get("balance", 0)),
                "nonce": _int(account.get("nonce", 0)),
                "code": _bytes(account.get("code")),
                "storage": {_int(k): _int(v) for k, v in account.get("storage", {}).items()},
            }
        config = data.get("config", {})
        return cls(
            chain_id=_int(config.get("chainId", DEV_CHAIN_ID)),
            gas_limit=_int(data.get("gasLimit", DEFAULT_GAS_LIMIT)),
            timestamp=_int(data.get("timestamp", 0)),
            extra_data=_bytes(data.get("extraData")),
            base_fee=_int(data.get("baseFeePerGas", INITIAL_BASE_FEE)),
            coinbase=to_canonical_address(data.get("coinbase", "0x" + "00" * 20)),
            alloc=alloc,
            config=config,
        )


def dev_accounts(count: int = 10, mnemonic: str = DEV_MNEMONIC) -> list[tuple[str, bytes]]:
    """(checksum address, private key) of the anvil/hardhat accounts m/44'/60'/0'/0/i."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    out = []
    for i in range(count):
        acct = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}")
        out.append((acct.address, bytes(acct.key)))
    return out


def dev_genesis(accounts: int = 10, timestamp: int = 0) -> Genesis:
    alloc = {
        to_canonical_address(address): {"balance": DEV_BALANCE, "nonce": 0, "code": b"", "storage": {}}
        for address, _ in dev_accounts(accounts)
    }
    return Genesis(chain_id=DEV_CHAIN_ID, timestamp=timestamp, alloc=alloc)
