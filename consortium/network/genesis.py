"""The consortium's genesis.json, Besu-style so the same validators could move to Besu.

`config.qbft` carries Besu's QBFT settings under Besu's keys (a sub-second period as
`xblockperiodmilliseconds`, the heartbeat as `xemptyblockperiodseconds`); the header fields Besu
hashes are written out (difficulty 1, the BFT mixHash, nonce 0; London at block 0, so the base fee
is Besu's default 1 gwei) and `extraData` is the QBFT encoding of the initial validators, so Besu
computes the same block 0. `config.hubao` carries what Besu does not know: the scaled clock and
the chain's execution rules (`txGasLimitCap`, the gas cap per transaction every block must keep;
`precompilePrices`, Hubao's prices of the precompiles py-evm runs slowly: node/genesis.py), and
the permissioning contract, which is predeployed in `alloc` with the code and storage its
constructor would leave. With a timekeeper, the movable clock (ConsortiumClock) is predeployed the
same way and named in `config.hubao.clock` (`contract`, `timekeeper`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from eth_utils import to_canonical_address, to_checksum_address

from node import chainclock
from node.genesis import HUBAO_PRICES, TX_GAS_LIMIT_CAP
from node.permissioning import ALLOWLIST_ADDRESS, genesis_storage

BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
DEFAULT_BALANCE = 10**6 * 10**18


@dataclass
class QbftSettings:
    blockperiodseconds: float = 1  # fractions allowed (0.25: written as xblockperiodmilliseconds 250)
    requesttimeoutseconds: int = 4
    epochlength: int = 30000
    emptyblockperiodseconds: int = 2  # written as Besu's xemptyblockperiodseconds


@dataclass
class GenesisSpec:
    chain_id: int
    validators: list[str]  # node addresses
    nodes: list[str]  # every node allowed to connect (validators and members)
    admins: list[str]  # one admin account per member organisation: they govern the allowlists
    funded: dict[str, int]  # address -> wei, all of them also allowlisted
    qbft: QbftSettings = field(default_factory=QbftSettings)
    gas_limit: int = 30_000_000
    timescale: float = 1.0
    sim_epoch: int | None = None  # simulated calendar start; default: now
    real_epoch: int | None = None  # wall time at which the simulated calendar is at sim_epoch
    timekeeper: str | None = None  # the account that may advance the movable clock; None: no such clock
    tx_gas_cap: int | None = TX_GAS_LIMIT_CAP  # config.hubao.txGasLimitCap; None: no such rule
    precompile_prices: str | None = HUBAO_PRICES  # config.hubao.precompilePrices; None: Ethereum's


def _hex(n: int) -> str:
    return hex(n)


def qbft_json(settings: QbftSettings) -> dict:
    """Besu's `config.qbft`: whole seconds as `blockperiodseconds` (a positive integer); a
    sub-second period as Besu's `xblockperiodmilliseconds` beside `blockperiodseconds: 1`."""
    period = float(settings.blockperiodseconds)
    out: dict = {"blockperiodseconds": int(period) if period.is_integer() else 1}
    if not period.is_integer():
        out["xblockperiodmilliseconds"] = round(period * 1000)
    out["requesttimeoutseconds"] = settings.requesttimeoutseconds
    out["epochlength"] = settings.epochlength
    out["xemptyblockperiodseconds"] = settings.emptyblockperiodseconds
    return out


def _storage_json(storage: dict[int, int]) -> dict[str, str]:
    return {
        "0x" + k.to_bytes(32, "big").hex(): "0x" + v.to_bytes(32, "big").hex() for k, v in storage.items()
    }


def _execution_rules(spec: GenesisSpec) -> dict:
    rules: dict = {}
    if spec.tx_gas_cap is not None:
        rules["txGasLimitCap"] = spec.tx_gas_cap
    if spec.precompile_prices is not None:
        rules["precompilePrices"] = spec.precompile_prices
    return rules


def build_genesis(spec: GenesisSpec, allowlist_code: str, clock_code: str | None = None) -> dict:
    """`clock_code`: ConsortiumClock's deployed code, needed when `spec.timekeeper` is set."""
    from node.qbft.extradata import genesis_extra_data

    now = int(time.time())
    real_epoch = spec.real_epoch if spec.real_epoch is not None else now
    sim_epoch = spec.sim_epoch if spec.sim_epoch is not None else real_epoch
    accounts = list(dict.fromkeys([*spec.admins, *spec.funded]))
    storage = genesis_storage(spec.admins, accounts, spec.nodes)
    alloc: dict[str, dict] = {
        addr.lower().removeprefix("0x"): {"balance": _hex(wei)} for addr, wei in spec.funded.items()
    }
    for admin in spec.admins:
        alloc.setdefault(admin.lower().removeprefix("0x"), {"balance": _hex(DEFAULT_BALANCE)})
    alloc[ALLOWLIST_ADDRESS.removeprefix("0x")] = {
        "balance": "0x0",
        "code": allowlist_code,
        "storage": _storage_json(storage),
    }
    clock = {"timescale": spec.timescale, "realEpoch": real_epoch, "simEpoch": sim_epoch}
    if spec.timekeeper is not None:
        if not clock_code:
            raise ValueError("a timekeeper needs the ConsortiumClock code")
        alloc[chainclock.CLOCK_ADDRESS.removeprefix("0x")] = {
            "balance": "0x0",
            "code": clock_code,
            "storage": _storage_json(chainclock.genesis_storage(spec.timekeeper)),
        }
        clock["contract"] = to_checksum_address(chainclock.CLOCK_ADDRESS)
        clock["timekeeper"] = to_checksum_address(spec.timekeeper)
    validators = sorted(to_canonical_address(v) for v in spec.validators)
    return {
        "config": {
            "chainId": spec.chain_id,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            "pragueTime": 0,
            "zeroBaseFee": False,
            "qbft": qbft_json(spec.qbft),
            "hubao": {
                **_execution_rules(spec),
                "clock": clock,
                "permissioning": {
                    "contract": to_checksum_address(ALLOWLIST_ADDRESS),
                    "accounts": True,
                    "nodes": True,
                    "governance": "majority of ConsortiumAllowlist admins (one per member organisation)",
                },
            },
        },
        "nonce": "0x0",
        "timestamp": _hex(sim_epoch),
        "gasLimit": _hex(spec.gas_limit),
        "difficulty": "0x1",
        "mixHash": BFT_MIX_HASH,
        "coinbase": "0x" + "00" * 20,
        "extraData": "0x" + genesis_extra_data(validators).hex(),
        "alloc": alloc,
    }
