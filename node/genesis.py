"""Genesis: a genesis.json read as Besu reads it, the genesis header Besu builds from it, and the
dev chain's accounts.

Besu's reading (config/GenesisConfig, GenesisReader, ethereum/chain/GenesisState), followed here:
- keys are case-insensitive (`chainId`, `chainid`, `chainID`), alloc addresses with or without 0x;
- `difficulty` (required), `nonce`, `blobGasUsed`, `excessBlobGas` and every account's `nonce` are
  hexadecimal even without 0x; `gasLimit` (required), `timestamp` and `baseFeePerGas` are Java
  numbers (0x.. hex, decimal); `chainId` is decimal; balances are 0x.. hex or decimal; storage keys
  and values, code, hashes and addresses are hex with or without 0x;
- `mixHash`, `parentHash`, `coinbase`, `extraData` are taken from the file (zero / empty if absent),
  the base fee defaults to 1 gwei when London is at block 0.

`config.hubao` holds Hubao's chain rules, which Besu does not read (docs/nodes.md#execution-budget):
- `txGasLimitCap`: the most gas one transaction may ask for, a block-validity rule like EIP-7825's
  (absent: none, so older genesis files keep their chain);
- `precompilePrices`: "hubao-1" for Hubao's precompile prices (node/precompiles.py; absent:
  Ethereum's).

Hubao's EVM is Prague from the genesis, so a configuration that would make Besu build another
header or run another fork (a block fork after 0, no London at 0, Prague not at the genesis, any
later fork scheduled) is refused with an error that names the key, never turned into a different
chain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.errors import NodeError

DEV_CHAIN_ID = 1337
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_BALANCE = 10_000 * 10**18
DEFAULT_GAS_LIMIT = 30_000_000
INITIAL_BASE_FEE = 1_000_000_000
ZERO32 = b"\0" * 32
HUBAO_PRICES = "hubao-1"  # config.hubao.precompilePrices: the one table of prices there is
TX_GAS_LIMIT_CAP = 5_000_000  # config.hubao.txGasLimitCap our genesis files carry

BLOCK_FORKS = (
    "homesteadblock", "daoforkblock", "eip150block", "eip155block", "eip158block", "byzantiumblock",
    "constantinopleblock", "petersburgblock", "constantinoplefixblock", "istanbulblock",
    "muirglacierblock", "berlinblock", "londonblock", "arrowglacierblock", "grayglacierblock",
    "mergenetsplitblock",
)  # fmt: skip
TIME_FORKS_AT_GENESIS = ("shanghaitime", "cancuntime", "praguetime")
LATER_FORKS = (
    "osakatime", "bpo1time", "bpo2time", "bpo3time", "bpo4time", "bpo5time", "amsterdamtime",
    "futureeipstime", "experimentaleipstime",
)  # fmt: skip
CONSENSUS_KEYS = ("ethash", "clique", "ibft", "ibft2", "qbft")
UNSUPPORTED_OPTIONS = ("zerobasefee", "fixedbasefee", "contractsizelimit", "evmstacksize", "blobschedule")
# Besu's QBFT skips the EIP-4788 and EIP-2935 system calls (PoA); py-evm makes them when code is there.
SYSTEM_CONTRACTS = {
    bytes.fromhex("000f3df6d732807ef1319fb7b8bb8522d0beac02"): "EIP-4788 beacon roots",
    bytes.fromhex("0000f90827f1c53a10cb7a02335b175320002935"): "EIP-2935 block hashes",
}


class GenesisError(NodeError, ValueError):
    """A genesis file Besu would not read, or a chain Hubao does not run."""


# --- Besu's number and byte formats -----------------------------------------------------------


def _text(value: Any) -> str:
    """Jackson's asText: a JSON number as its decimal digits, a string as itself."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise GenesisError(f"expected a number or a string, got {value!r}")
    return str(value)


def java_long(name: str, value: Any) -> int:
    """Java's Long.decode: [-]0x.. / #.. hex, 0.. octal, decimal."""
    text = _text(value).strip()
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.removeprefix("+"))
    try:
        if digits[:2].lower() == "0x":
            return sign * int(digits[2:], 16)
        if digits[:1] == "#":
            return sign * int(digits[1:], 16)
        if len(digits) > 1 and digits[0] == "0":
            return sign * int(digits[1:], 8)
        return sign * int(digits, 10)
    except ValueError:
        raise GenesisError(f"{name} must be a number but was {text!r}") from None


def hex_unsigned(name: str, value: Any) -> int:
    """Besu's parseUnsignedLong: hexadecimal with or without 0x (a JSON number's digits too)."""
    text = _text(value).lower().removeprefix("0x")
    try:
        number = int(text, 16)
    except ValueError:
        raise GenesisError(f"{name} must be hexadecimal but was {value!r}") from None
    if number >= 1 << 64:
        raise GenesisError(f"{name} does not fit in 64 bits: {value!r}")
    return number


def hex_bytes(name: str, value: Any, size: int | None = None) -> bytes:
    """Hex with or without 0x; with `size`, left-padded to it (Besu's lenient hash/address reading)."""
    if not isinstance(value, str):
        raise GenesisError(f"{name} must be a hex string, got {value!r}")
    digits = value[2:] if value[:2].lower() == "0x" else value
    try:
        raw = bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0"))
    except ValueError:
        raise GenesisError(f"{name} is not hex: {value!r}") from None
    if size is None:
        return raw
    if len(raw) > size:
        raise GenesisError(f"{name} must be at most {size} bytes: {value!r}")
    return raw.rjust(size, b"\0")


def hex_word(name: str, value: Any) -> int:
    """UInt256.fromHexString: storage keys and values."""
    return int.from_bytes(hex_bytes(name, _text(value), 32), "big")


def balance(name: str, value: Any) -> int:
    text = _text(value)
    if text.startswith("0x"):
        return int.from_bytes(hex_bytes(name, text), "big")
    try:
        return int(text, 10)
    except ValueError:
        raise GenesisError(f"{name} must be a number but was {text!r}") from None


def normalize_keys(obj: Any) -> Any:
    """Lower-case every object key (Besu's JsonUtil.normalizeKeys)."""
    if isinstance(obj, dict):
        return {str(k).lower(): normalize_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [normalize_keys(v) for v in obj]
    return obj


# --- the genesis --------------------------------------------------------------------------------


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
    difficulty: int = 0
    mix_hash: bytes = ZERO32
    nonce: int = 0
    parent_hash: bytes = ZERO32
    blob_gas_used: int = 0
    excess_blob_gas: int = 0
    parent_beacon_block_root: bytes = ZERO32
    consensus: str | None = None  # the config section naming the engine: qbft, clique, ethash, ...
    tx_gas_cap: int | None = None  # config.hubao.txGasLimitCap: a block-validity rule (None: none)
    precompile_prices: str | None = None  # config.hubao.precompilePrices (None: Ethereum's)

    def header_fields(self, state_root: bytes) -> dict[str, Any]:
        """Block 0's header as Besu's GenesisState builds it for a Prague-at-genesis chain."""
        return {
            "parent_hash": self.parent_hash,
            "coinbase": self.coinbase,
            "state_root": state_root,
            "difficulty": self.difficulty,
            "block_number": 0,
            "gas_limit": self.gas_limit,
            "timestamp": self.timestamp,
            "extra_data": self.extra_data,
            "mix_hash": self.mix_hash,
            "nonce": self.nonce.to_bytes(8, "big"),
            "base_fee_per_gas": self.base_fee,
            "blob_gas_used": self.blob_gas_used,
            "excess_blob_gas": self.excess_blob_gas,
            "parent_beacon_block_root": self.parent_beacon_block_root,
        }

    @classmethod
    def from_json(cls, data: dict | str | Path) -> Genesis:
        """Read a genesis.json (a path or its parsed dict) as Besu does; raises GenesisError."""
        if not isinstance(data, dict):
            data = json.loads(Path(data).read_text())
        alloc_doc = data.get("alloc") or {}
        root = normalize_keys({k: v for k, v in data.items() if k != "alloc"})
        config = root.get("config") or {}
        if not isinstance(config, dict):
            raise GenesisError("config must be an object")
        timestamp = java_long("timestamp", root.get("timestamp", "0x0"))
        check_forks(config, timestamp)
        tx_gas_cap, prices = hubao_rules(config.get("hubao") or {})
        alloc = {_address(k): _account(k, v) for k, v in alloc_doc.items()}
        if "qbft" in config:
            for address, name in SYSTEM_CONTRACTS.items():
                if alloc.get(address, {}).get("code"):
                    raise GenesisError(
                        f"the {name} contract in alloc: Besu's QBFT never calls it, ours would"
                    )
        return cls(
            chain_id=_chain_id(config),
            gas_limit=java_long("gasLimit", _required(root, "gaslimit", "gastarget")),
            timestamp=timestamp,
            extra_data=hex_bytes("extraData", root.get("extradata", "")),
            base_fee=_base_fee(root),
            coinbase=hex_bytes("coinbase", root["coinbase"], 20) if "coinbase" in root else b"\0" * 20,
            alloc=alloc,
            config=data.get("config", {}),
            difficulty=int.from_bytes(hex_bytes("difficulty", _text(_required(root, "difficulty"))), "big"),
            mix_hash=hex_bytes("mixHash", root.get("mixhash", ""), 32),
            nonce=hex_unsigned("nonce", root.get("nonce", "0x0")),
            parent_hash=hex_bytes("parentHash", root.get("parenthash", ""), 32),
            blob_gas_used=hex_unsigned("blobGasUsed", root.get("blobgasused", "0x0")),
            excess_blob_gas=hex_unsigned("excessBlobGas", root.get("excessblobgas", "0x0")),
            parent_beacon_block_root=hex_bytes(
                "parentBeaconBlockRoot", root.get("parentbeaconblockroot", "0x" + "00" * 32), 32
            ),
            consensus=next((k for k in CONSENSUS_KEYS if k in config), None),
            tx_gas_cap=tx_gas_cap,
            precompile_prices=prices,
        )


def _required(root: dict, *keys: str) -> Any:
    for key in keys:
        if key in root:
            return root[key]
    raise GenesisError(f"invalid genesis block configuration, missing value for one of {list(keys)}")


def _chain_id(config: dict) -> int:
    if "chainid" not in config:
        return DEV_CHAIN_ID
    text = _text(config["chainid"])
    if not text.isdigit():
        raise GenesisError(f"config.chainId must be a decimal number (as Besu reads it), got {text!r}")
    return int(text)


def _base_fee(root: dict) -> int:
    """The file's, or Besu's default for London at block 0 (which check_forks requires)."""
    if "basefeepergas" in root:
        if not isinstance(root["basefeepergas"], str):
            raise GenesisError("baseFeePerGas must be a string (as Besu reads it)")
        return java_long("baseFeePerGas", root["basefeepergas"])
    return INITIAL_BASE_FEE


def _address(key: str) -> bytes:
    return hex_bytes(f"alloc address {key}", key, 20)


def _account(key: str, account: Any) -> dict[str, Any]:
    if not isinstance(account, dict):
        raise GenesisError(f"alloc {key} must be an object")
    account = {k.lower(): v for k, v in account.items()}
    storage = account.get("storage") or {}
    return {
        "balance": balance(f"alloc {key} balance", account.get("balance", "0")),
        "nonce": hex_unsigned(f"alloc {key} nonce", account.get("nonce", "0x0")),
        "code": hex_bytes(f"alloc {key} code", account["code"]) if account.get("code") else b"",
        "storage": {
            hex_word(f"alloc {key} storage key", k): hex_word(f"alloc {key} storage {k}", v)
            for k, v in storage.items()
        },
    }


def hubao_rules(hubao: Any) -> tuple[int | None, str | None]:
    """(txGasLimitCap, precompilePrices) of `config.hubao` (keys lower-cased), checked."""
    if not isinstance(hubao, dict):
        raise GenesisError("config.hubao must be an object")
    cap = None
    if hubao.get("txgaslimitcap") is not None:
        cap = java_long("config.hubao.txGasLimitCap", hubao["txgaslimitcap"])
        if cap < 21000:
            raise GenesisError(f"config.hubao.txGasLimitCap must be at least 21000, got {cap}")
    prices = hubao.get("precompileprices")
    if prices is not None and prices != HUBAO_PRICES:
        raise GenesisError(f"config.hubao.precompilePrices must be {HUBAO_PRICES!r}, got {prices!r}")
    return cap, prices


def check_forks(config: dict, timestamp: int) -> None:
    """Refuse a fork schedule other than Prague from the genesis (London at block 0)."""
    for key in BLOCK_FORKS:
        if key in config and java_long(f"config.{key}", config[key]) != 0:
            raise GenesisError(f"config.{key} = {config[key]}: Hubao runs every fork from block 0")
    if "londonblock" not in config:
        raise GenesisError("config.londonBlock must be 0: Hubao runs London (EIP-1559) from the genesis")
    if "praguetime" not in config:
        raise GenesisError("config.pragueTime is missing: Hubao's EVM is Prague from the genesis")
    for key in TIME_FORKS_AT_GENESIS:
        if key in config and java_long(f"config.{key}", config[key]) > timestamp:
            raise GenesisError(
                f"config.{key} is after the genesis timestamp: Hubao runs Prague from the genesis"
            )
    for key in LATER_FORKS:
        if key in config:
            raise GenesisError(f"config.{key}: Hubao's EVM is Prague and does not run later forks")
    for key in UNSUPPORTED_OPTIONS:
        if config.get(key) not in (None, False, {}):
            raise GenesisError(f"config.{key} is not supported by Hubao")
    consensus = [k for k in CONSENSUS_KEYS if k in config]
    if len(consensus) > 1:
        raise GenesisError(f"config names more than one consensus engine: {consensus}")


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
        bytes.fromhex(address[2:]): {"balance": DEV_BALANCE, "nonce": 0, "code": b"", "storage": {}}
        for address, _ in dev_accounts(accounts)
    }
    # Hubao's precompile prices, as on a consortium chain; no gas cap per transaction (as anvil).
    return Genesis(chain_id=DEV_CHAIN_ID, timestamp=timestamp, alloc=alloc, precompile_prices=HUBAO_PRICES)
