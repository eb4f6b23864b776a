"""Gas per second of every precompile on this machine's py-evm, at the spec price and at Hubao's.

Each precompile is called with inputs near its worst case for its price (valid curve points, the
largest MSM discount step, many BLAKE2F rounds, MODEXP shapes whose price is at its floor), so the
figure is the slowest gas/s an attacker can buy, and `cap s` what a transaction at the chain's
gas cap spent on it would cost every validator. docs/nodes.md#execution-budget keeps the figures;
node/precompiles.py the prices they set.

    .venv/bin/python scripts/bench_precompiles.py [--seconds 1.0] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

from eth.precompiles import blake2 as blake2_module
from eth.vm.forks.prague.computation import PragueComputation

from harness.precompile_inputs import CASES
from node.genesis import TX_GAS_LIMIT_CAP
from node.precompiles import FLOOR_MGAS_PER_SECOND, surcharge


@dataclass
class Message:
    data: bytes

    @property
    def data_as_bytes(self) -> bytes:
        return self.data


class Meter:
    """The slice of a computation a precompile touches: its input, its gas and its output."""

    def __init__(self, data: bytes) -> None:
        self.msg = Message(data)
        self.gas = 0
        self.output = b""

    def consume_gas(self, amount: int, reason: str = "") -> None:
        self.gas += amount


def measure(address: int, data: bytes, seconds: float) -> tuple[int, int, float]:
    """(spec gas, Hubao gas, seconds) of one call, the best of as many calls as fit in `seconds`."""
    run = PragueComputation.get_precompiles()[address.to_bytes(20, "big")]
    best = float("inf")
    spent = 0.0
    gas = 0
    while spent < seconds or best == float("inf"):
        meter = Meter(data)
        start = time.perf_counter()
        run(meter)
        took = time.perf_counter() - start
        best, spent, gas = min(best, took), spent + took, meter.gas
    return gas, gas + surcharge(address, data), best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent per case")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    native = blake2_module.blake2b_compress.__module__ != "eth._utils.blake2.compression"
    rows = []
    for name, address, make in CASES:
        spec, hubao, took = measure(address, make(), args.seconds)
        rows.append(
            {
                "precompile": name,
                "address": f"0x{address:02x}",
                "spec_gas": spec,
                "hubao_gas": hubao,
                "ms": round(took * 1000, 3),
                "spec_mgas_s": round(spec / took / 1e6, 3),
                "hubao_mgas_s": round(hubao / took / 1e6, 3),
                "cap_s": round(TX_GAS_LIMIT_CAP * took / hubao, 2),
            }
        )
    if args.json:
        print(json.dumps({"blake2b_native": native, "rows": rows}, indent=1))
        return
    print(f"BLAKE2F compress: {'blake2b-py (native)' if native else 'py-evm pure Python'}")
    head = ("precompile", "addr", "spec gas", "hubao gas", "ms", "spec Mgas/s", "hubao Mgas/s", "cap s")
    widths = (36, 5, 9, 10, 9, 12, 13, 7)
    line = lambda cells: " ".join(  # noqa: E731
        f"{c!s:>{w}}" if i else f"{c!s:{w}}" for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )
    print(line(head))
    keys = ("precompile", "address", "spec_gas", "hubao_gas", "ms", "spec_mgas_s", "hubao_mgas_s", "cap_s")
    for r in rows:
        print(line([r[k] for k in keys]))
    slowest = min(rows, key=lambda r: r["hubao_mgas_s"])
    print(
        f"slowest at Hubao's prices: {slowest['precompile']} at {slowest['hubao_mgas_s']} Mgas/s "
        f"(floor aimed at: {FLOOR_MGAS_PER_SECOND}); a {TX_GAS_LIMIT_CAP:,}-gas transaction of it: "
        f"{slowest['cap_s']} s"
    )


if __name__ == "__main__":
    main()
