"""Hubao's precompile prices: Ethereum's gas plus a surcharge where py-evm is far slower per gas.

The per-transaction gas cap bounds what one transaction costs every validator only if each gas
takes about as long as ordinary EVM code (1.1 to 4.4 Mgas/s on py-evm). BN254 pairing and the
BLS12-381 precompiles run in pure Python (py_ecc) at 0.04 to 0.6 Mgas/s at Ethereum's prices, so
the chain rule `config.hubao.precompilePrices = "hubao-1"` (node/genesis.py, HUBAO_PRICES) adds the surcharges
below, sized so that each runs at no less than 2 Mgas/s here (scripts/bench_precompiles.py
measures them; docs/nodes.md#execution-budget keeps the figures). BLAKE2F keeps its price: the
`blake2b` module (blake2b-py, Rust) that py-evm picks up when installed runs it at ~30 Mgas/s,
where py-evm's own Python ran 0.06 Mgas/s, so it is imported here to make the node refuse to
start without it. The other precompiles (ECRECOVER via coincurve, the hashes, MODEXP on Python's
integers, BN254 ADD, KZG via ckzg, BLS12 G1ADD and MAP_FP_TO_G1) are at 3 Mgas/s or more already.

A surcharge is consumed before the precompile runs, so a call that cannot pay it fails out of gas
like any underpaid precompile call; only the gas differs from Ethereum's, never the output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import blake2b  # noqa: F401 (BLAKE2F at Ethereum's price needs the native compress, see above)
from eth.abc import ComputationAPI
from eth.vm.forks.prague.computation import PRAGUE_PRECOMPILES

FLOOR_MGAS_PER_SECOND = 2.0  # what every precompile runs at, at least, with the surcharges


def _per(size: int, base: int, each: int) -> Callable[[bytes], int]:
    """`base` plus `each` per whole `size`-byte item of the input."""
    return lambda data: base + each * (len(data) // size)


def _flat(gas: int) -> Callable[[bytes], int]:
    return lambda data: gas


# address -> surcharge(input) in gas, on top of Ethereum's (Prague) price. Sized from the slowest of
# several runs of scripts/bench_precompiles.py on the shared 2-core test machine (in parentheses).
SURCHARGES: dict[int, Callable[[bytes], int]] = {
    0x07: _flat(34_000),  # BN254 MUL: 6,000 -> 40,000 (17 ms)
    0x08: _per(192, 600_000, 2_000_000),  # BN254 PAIRING: +0.6M, +2M a pair (0.2 s + 0.85 s a pair)
    0x0C: _per(160, 0, 200_000),  # BLS12 G1MSM: +200k a pair (81 ms a pair)
    0x0D: _flat(1_000),  # BLS12 G2ADD: 600 -> 1,600 (0.6 ms)
    0x0E: _per(288, 0, 600_000),  # BLS12 G2MSM: +600k a pair (0.26 s a pair)
    0x0F: _per(384, 800_000, 3_200_000),  # BLS12 PAIRING: +0.8M, +3.2M a pair (1.3 s for one)
    0x11: _flat(450_000),  # BLS12 MAP_FP2_TO_G2: 23,800 -> 473,800 (0.19 s)
}


def surcharge(address: int, data: bytes) -> int:
    """The gas Hubao's prices add to Ethereum's for calling precompile `address` with `data`."""
    price = SURCHARGES.get(address)
    return 0 if price is None else price(bytes(data))


def _surcharged(address: int, run: Callable[[ComputationAPI], Any]) -> Callable[[ComputationAPI], Any]:
    def precompile(computation: ComputationAPI) -> Any:
        extra = surcharge(address, computation.msg.data_as_bytes)
        computation.consume_gas(extra, reason=f"Hubao surcharge of precompile 0x{address:02x}")
        return run(computation)

    return precompile


HUBAO_PRECOMPILES = {
    key: _surcharged(int.from_bytes(key, "big"), run) if int.from_bytes(key, "big") in SURCHARGES else run
    for key, run in PRAGUE_PRECOMPILES.items()
}
