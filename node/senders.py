"""Recover a transaction's sender straight from its raw bytes with coincurve (libsecp256k1).

py-evm rebuilds an unsigned transaction object and re-encodes it to find the signing hash, then
goes through eth-keys' object layers; for a pool admitting thousands of transactions a second that
is most of the admission cost. The signing payload is the raw encoding minus the signature, so it
is cut from the bytes we already have. The result is stored where py-evm caches `tx.sender`, so
execution never recovers again. Equality with py-evm's recovery: tests/node/test_senders.py.
"""

from __future__ import annotations

import rlp
from coincurve import PublicKey
from eth.abc import SignedTransactionAPI
from eth_hash.auto import keccak

SECPK1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class BadSignature(ValueError):
    pass


def _signing_hash(raw: bytes) -> tuple[bytes, int, int, int]:
    """(hash signed, y parity, r, s) of a raw legacy (EIP-155) or typed (EIP-2718) transaction."""
    if raw[0] >= 0xC0:  # legacy: rlp([nonce, gasPrice, gas, to, value, data, v, r, s])
        items = rlp.decode(raw)
        if len(items) != 9:
            raise BadSignature("legacy transaction must have 9 fields")
        v = int.from_bytes(items[6], "big")
        if v in (27, 28):
            return keccak(rlp.encode(items[:6])), v - 27, _int(items[7]), _int(items[8])
        chain_id = (v - 35) // 2
        payload = rlp.encode([*items[:6], chain_id, b"", b""])
        return keccak(payload), (v - 35) % 2, _int(items[7]), _int(items[8])
    items = rlp.decode(raw[1:])
    if len(items) < 4:
        raise BadSignature("typed transaction too short")
    payload = raw[:1] + rlp.encode(items[:-3])
    return keccak(payload), _int(items[-3]), _int(items[-2]), _int(items[-1])


def _int(item: bytes) -> int:
    if not isinstance(item, bytes):
        raise BadSignature("signature values must be integers")
    return int.from_bytes(item, "big")


def recover_sender(raw: bytes) -> bytes:
    msg_hash, parity, r, s = _signing_hash(raw)
    if parity not in (0, 1) or not (0 < r < SECPK1_N and 0 < s <= SECPK1_N // 2):
        raise BadSignature("invalid transaction v, r, s values")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((parity,))
    try:
        public = PublicKey.from_signature_and_message(signature, msg_hash, hasher=None)
    except Exception as exc:
        raise BadSignature("invalid sender") from exc
    return keccak(public.format(compressed=False)[1:])[12:]


def attach_sender(tx: SignedTransactionAPI, raw: bytes) -> bytes:
    """Recover from `raw` and cache it as py-evm's `tx.sender` (a cached_property)."""
    sender = recover_sender(raw)
    tx.__dict__["sender"] = sender
    return sender
