"""Node identity: a secp256k1 node key, its address, and the handshake proof that binds it to TLS.

TLS proves "this peer holds the key of a certificate some node of the consortium published" (the
certificates are self-signed and pinned, there is no CA); the transport checks it is the very one
pinned for the address the peer claims, and the proof here adds "and it holds the node key of
address X, on this very TLS session". Each side signs
keccak(DOMAIN || signer cert fingerprint || verifier cert fingerprint || verifier nonce), so a
signature cannot be replayed on another session or relayed through a man in the middle (whose
certificate fingerprints would differ).
"""

from __future__ import annotations

import hashlib

from coincurve import PrivateKey, PublicKey
from eth_utils import keccak

DOMAIN = b"hubao-p2p-auth/1"


def address_of_public(public: PublicKey) -> str:
    return "0x" + keccak(public.format(compressed=False)[1:])[-20:].hex()


def node_address(secret: bytes) -> str:
    return address_of_public(PrivateKey(secret).public_key)


def cert_fingerprint(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


def auth_digest(signer_fp: bytes, verifier_fp: bytes, verifier_nonce: bytes) -> bytes:
    return keccak(DOMAIN + signer_fp + verifier_fp + verifier_nonce)


def sign_auth(secret: bytes, own_fp: bytes, peer_fp: bytes, peer_nonce: bytes) -> bytes:
    return PrivateKey(secret).sign_recoverable(auth_digest(own_fp, peer_fp, peer_nonce), hasher=None)


def recover_auth(signature: bytes, peer_fp: bytes, own_fp: bytes, own_nonce: bytes) -> str:
    """The address that signed the peer's proof; raises ValueError on a malformed signature."""
    try:
        public = PublicKey.from_signature_and_message(
            signature, auth_digest(peer_fp, own_fp, own_nonce), hasher=None
        )
    except Exception as exc:
        raise ValueError(f"bad signature: {exc}") from exc
    return address_of_public(public)
