"""Inputs near each precompile's worst case for its price: valid curve points (a generator), the
largest scalars, many BLAKE2F rounds, MODEXP shapes priced at their floor. scripts/bench_precompiles.py
times them (`CASES`); tests/hostile/test_precompile_cost.py and test_execution_rules.py send
transactions at the cap spent on them (`HEAVY`, beside `BURN`, the same gas in plain opcodes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from py_ecc import optimized_bls12_381 as bls
from py_ecc import optimized_bn128 as bn

BURN = bytes.fromhex("5b600056")  # init code JUMPDEST PUSH1 0 JUMP: plain opcodes until the gas is gone


def word(n: int, size: int = 32) -> bytes:
    return n.to_bytes(size, "big")


def _affine(curve: Any, point: Any, size: int, imaginary_first: bool) -> bytes:
    """A point's affine x and y, each field element in `size` bytes; an Fp2 element imaginary part
    first (EIP-197, BN254) or real part first (EIP-2537, BLS12-381)."""
    out = b""
    for c in curve.normalize(point):
        parts = [c.n] if hasattr(c, "n") else [int(v) for v in c.coeffs]
        out += b"".join(word(v, size) for v in (parts[::-1] if imaginary_first else parts))
    return out


BN_G1, BN_G2 = _affine(bn, bn.G1, 32, True), _affine(bn, bn.G2, 32, True)
BLS_G1, BLS_G2 = _affine(bls, bls.G1, 64, False), _affine(bls, bls.G2, 64, False)


def bls_fp(n: int) -> bytes:
    return word(n, 64)


SCALAR = word(bls.curve_order - 1)


def loop_calling(address: int, data: bytes) -> bytes:
    """Init code that STATICCALLs precompile `address` with `data` (appended to it) with all its gas,
    again and again until the gas is gone: a transaction of it spends its whole gas limit there."""
    prefix = (
        bytes.fromhex("601a380380601a6000395b6000600082600060")
        + bytes([address])
        + bytes.fromhex("5afa50600a56")
    )
    assert len(prefix) == 0x1A  # where `data` starts (PUSH1 0x1a above); the loop is at 0x0a
    return prefix + data


def blake2f(rounds: int) -> bytes:
    return rounds.to_bytes(4, "big") + b"\x11" * 64 + b"\x22" * 128 + b"\0" * 16 + b"\x01"


def modexp(base: int, exp: int, mod: int, exp_bytes: bytes | None = None) -> bytes:
    e = exp_bytes if exp_bytes is not None else b"\xff" * exp
    return word(base) + word(len(e)) + word(mod) + b"\xff" * base + e + b"\xfd" * mod


def ecrecover_input() -> bytes:
    from eth_keys import keys

    key = keys.PrivateKey(b"\x01" * 32)
    digest = b"\x42" * 32
    sig = key.sign_msg_hash(digest)
    return digest + word(sig.v + 27) + word(sig.r) + word(sig.s)


# (name, address, input): each at the worst ratio of time to spec gas we found for it.
CASES: list[tuple[str, int, Callable[[], bytes]]] = [
    ("ECRECOVER", 0x01, ecrecover_input),
    ("SHA256 (4 KiB)", 0x02, lambda: b"\xab" * 4096),
    ("RIPEMD160 (4 KiB)", 0x03, lambda: b"\xab" * 4096),
    ("IDENTITY (4 KiB)", 0x04, lambda: b"\xab" * 4096),
    ("MODEXP (32-byte mod, 32-byte exp)", 0x05, lambda: modexp(32, 32, 32)),
    ("MODEXP (64-byte mod, 1-byte exp)", 0x05, lambda: modexp(64, 0, 64, b"\xff")),
    ("MODEXP (512-byte mod, 64-byte exp)", 0x05, lambda: modexp(512, 64, 512)),
    ("BN256 ADD", 0x06, lambda: BN_G1 + BN_G1),
    ("BN256 MUL", 0x07, lambda: BN_G1 + word(bn.curve_order - 1)),
    ("BN256 PAIRING (2 pairs)", 0x08, lambda: (BN_G1 + BN_G2) * 2),
    ("BLAKE2F (20,000 rounds)", 0x09, lambda: blake2f(20_000)),
    ("BLS12 G1ADD", 0x0B, lambda: BLS_G1 + BLS_G1),
    ("BLS12 G1MSM (1 pair)", 0x0C, lambda: BLS_G1 + SCALAR),
    ("BLS12 G1MSM (128 pairs)", 0x0C, lambda: (BLS_G1 + SCALAR) * 128),
    ("BLS12 G2ADD", 0x0D, lambda: BLS_G2 + BLS_G2),
    ("BLS12 G2MSM (1 pair)", 0x0E, lambda: BLS_G2 + SCALAR),
    ("BLS12 PAIRING (1 pair)", 0x0F, lambda: BLS_G1 + BLS_G2),
    ("BLS12 MAP_FP_TO_G1", 0x10, lambda: bls_fp(0x1234)),
    ("BLS12 MAP_FP2_TO_G2", 0x11, lambda: bls_fp(0x1234) + bls_fp(0x5678)),
]


# (name, address, input, output bytes): each call valid and as slow per gas as we found it, for
# transactions at the cap that loop over one (`loop_calling`)
HEAVY: list[tuple[str, int, bytes, int]] = [
    ("BN254 PAIRING", 0x08, BN_G1 + BN_G2, 32),
    ("BN254 MUL", 0x07, BN_G1 + SCALAR, 64),
    ("BLAKE2F", 0x09, blake2f(1_000_000), 64),
    ("BLS12 G1MSM", 0x0C, (BLS_G1 + SCALAR) * 8, 128),
    ("BLS12 G2MSM", 0x0E, BLS_G2 + SCALAR, 256),
    ("BLS12 PAIRING", 0x0F, BLS_G1 + BLS_G2, 32),
    ("BLS12 MAP_FP2_TO_G2", 0x11, bls_fp(0x1234) + bls_fp(0x5678), 256),
]
