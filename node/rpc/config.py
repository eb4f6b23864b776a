"""eth_config (EIP-7910): the chain's fork configuration, with Hubao's execution rules beside it.

Hubao runs one fork, Prague, from the genesis: `current` describes it, `next` and `last` are null.
The fork id is EIP-2124's CRC32 of the genesis hash (every fork is at the genesis, so nothing is
folded in). `systemContracts` is empty: a QBFT chain makes none of Prague's system calls (Besu's
QBFT skips them; node/genesis.py refuses their code). EIP-7910 has no field for a gas cap per
transaction (Osaka's EIP-7825 cap is implied by its fork), so `current.hubao` carries the genesis's
`config.hubao` rules: `txGasLimitCap` (null: none) and `precompilePrices` (null: Ethereum's).
Clients size their batches by `txGasLimitCap` (consortium/client/tx.py).
"""

from __future__ import annotations

import zlib
from typing import Any

from eth.vm.forks.prague.constants import (
    BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
    MAX_BLOB_GAS_PER_BLOCK,
    TARGET_BLOB_GAS_PER_BLOCK,
)

from node.abc import ChainAPI, RpcHandler, RpcNamespaceAPI
from node.rpc.format import hx

GAS_PER_BLOB = 1 << 17
PRECOMPILES = {  # EIP-7910's names, Prague's set
    "ECREC": 0x01, "SHA256": 0x02, "RIPEMD160": 0x03, "ID": 0x04, "MODEXP": 0x05,
    "BN254_ADD": 0x06, "BN254_MUL": 0x07, "BN254_PAIRING": 0x08, "BLAKE2F": 0x09,
    "KZG_POINT_EVALUATION": 0x0A, "BLS12_G1ADD": 0x0B, "BLS12_G1MSM": 0x0C, "BLS12_G2ADD": 0x0D,
    "BLS12_G2MSM": 0x0E, "BLS12_PAIRING_CHECK": 0x0F, "BLS12_MAP_FP_TO_G1": 0x10,
    "BLS12_MAP_FP2_TO_G2": 0x11,
}  # fmt: skip


class ConfigNamespace(RpcNamespaceAPI):
    name = "eth"

    def __init__(self, chain: ChainAPI) -> None:
        self.chain = chain

    def methods(self) -> dict[str, RpcHandler]:
        return {"eth_config": self.config}

    def config(self) -> dict[str, Any]:
        genesis_hash = self.chain.block_hash(self.chain.genesis)
        cap = self.chain.tx_gas_cap
        current = {
            "activationTime": 0,  # EIP-7910: a fork active from the genesis
            "blobSchedule": {
                "baseFeeUpdateFraction": BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
                "max": MAX_BLOB_GAS_PER_BLOCK // GAS_PER_BLOB,
                "target": TARGET_BLOB_GAS_PER_BLOCK // GAS_PER_BLOB,
            },
            "chainId": hx(self.chain.chain_id),
            "forkId": "0x" + zlib.crc32(genesis_hash).to_bytes(4, "big").hex(),
            "precompiles": {name: "0x" + a.to_bytes(20, "big").hex() for name, a in PRECOMPILES.items()},
            "systemContracts": {},
            "hubao": {
                "txGasLimitCap": None if cap is None else hx(cap),
                "precompilePrices": self.chain.vm_class.precompile_prices,
            },
        }
        return {"current": current, "next": None, "last": None}
