"""secp256k1 signing as Besu's QBFT does it: 65-byte r || s || v signatures (v is 0 or 1) over a
keccak digest; the author of a message or seal is the address recovered from its signature."""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak


class InvalidSignature(ValueError):
    """A signature that does not recover to any key."""


def address_of_public(public: PublicKey) -> bytes:
    return keccak(public.format(compressed=False)[1:])[12:]


def recover(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address that signed `digest`, or InvalidSignature."""
    if len(signature) != 65 or signature[64] > 1:
        raise InvalidSignature("signature must be 65 bytes with v in {0, 1}")
    try:
        public = PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except Exception as exc:  # coincurve raises bare Exception/ValueError on bad points
        raise InvalidSignature(str(exc)) from exc
    return address_of_public(public)


class Signer:
    """A validator key. The node key is the validator key (as in Besu)."""

    def __init__(self, private_key: bytes) -> None:
        self._key = PrivateKey(private_key)
        self.address = address_of_public(self._key.public_key)

    def sign(self, digest: bytes) -> bytes:
        return self._key.sign_recoverable(digest, hasher=None)
