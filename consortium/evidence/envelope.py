"""Envelope encryption of evidence to a set of readers' secp256k1 public keys.

The content is sealed once with a random AES-256-GCM data key; the data key is wrapped for each
reader by ECIES (ephemeral ECDH on secp256k1, HKDF-SHA256, AES-256-GCM). A reader needs only the
private key of the Ethereum account they already hold. The store keeps envelopes, never plaintext.

An envelope carries the evidence's Merkle leaves in the clear (salted hashes of the files, in name
order, no names): the store checks they hash to the root the upload claims, and anyone can check
them against the root on chain, without being able to read, or confirm a guess of, any file.
Version 2: leaves are salted (version 1 envelopes had unsalted leaves and are refused).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import coincurve
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_keys import keys
from eth_utils import is_checksum_address

VERSION = 2
INFO = b"hubao-evidence-v1"


class NotAReader(Exception):
    """The given key is not among the envelope's readers."""


class CorruptEnvelope(Exception):
    """The envelope does not decrypt: it was altered or is not an evidence envelope."""


def public_key_of(private_key: bytes) -> bytes:
    """Uncompressed 64-byte public key (as Ethereum writes it)."""
    return keys.PrivateKey(private_key).public_key.to_bytes()


def address_of_public_key(public_key: bytes) -> str:
    return keys.PublicKey(public_key).to_checksum_address()


def _kek(shared_point: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=INFO)
    return hkdf.derive(shared_point)


def _ecdh(private_key: bytes, public_key64: bytes) -> bytes:
    point = coincurve.PublicKey(b"\x04" + public_key64).multiply(private_key)
    return point.format(compressed=True)


@dataclass(frozen=True)
class Envelope:
    readers: dict[str, dict[str, str]]  # checksum address -> {ephemeral, nonce, wrapped}
    nonce: bytes
    ciphertext: bytes
    leaves: tuple[bytes, ...] = ()  # public Merkle leaves of the evidence, in name order

    def to_bytes(self) -> bytes:
        body = {
            "version": VERSION,
            "readers": self.readers,
            "nonce": self.nonce.hex(),
            "ciphertext": self.ciphertext.hex(),
        }
        if self.leaves:
            body["leaves"] = [leaf.hex() for leaf in self.leaves]
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """Parse an envelope, refusing anything but the exact form `seal` writes (`check_schema`)."""
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise CorruptEnvelope("not an evidence envelope (not JSON)") from exc
        check_schema(body)
        try:
            ciphertext = bytes.fromhex(body["ciphertext"])
        except ValueError:
            raise CorruptEnvelope("evidence envelope ciphertext is not hex") from None
        leaves = tuple(bytes.fromhex(leaf) for leaf in body["leaves"])
        envelope = cls(body["readers"], bytes.fromhex(body["nonce"]), ciphertext, leaves)
        if envelope.to_bytes() != raw:
            raise CorruptEnvelope(
                "evidence envelope is not in its canonical form (key order, spacing, hex case)"
            )
        return envelope


MAX_READERS = 256
MAX_LEAVES = 4096
_HEX = re.compile(r"[0-9a-f]*")  # fullmatch, with an even length
_WRAP = {"ephemeral": 64, "nonce": 12, "wrapped": 48}  # field -> bytes (AES-GCM: 32-byte key + tag)


def _hex(value: object, size: int | None, what: str) -> None:
    if (
        not isinstance(value, str)
        or not _HEX.fullmatch(value)
        or len(value) % 2
        or (size and len(value) != 2 * size)
    ):
        raise CorruptEnvelope(f"evidence envelope {what} must be {size or 'some'} bytes of lowercase hex")


def check_schema(body: object) -> None:
    """An envelope is exactly {version 2, readers, nonce, ciphertext, leaves}: 1 to 256 readers, each
    a checksummed address with its wrapped key; a 12-byte nonce; a ciphertext of at least the tag;
    1 to 4096 leaves of 32 bytes. Anything else (`readers: {}`, extra fields) is refused."""
    if not isinstance(body, dict) or body.get("version") != VERSION:
        version = body.get("version") if isinstance(body, dict) else None
        raise CorruptEnvelope(f"unsupported evidence envelope version {version!r}")
    if set(body) != {"version", "readers", "nonce", "ciphertext", "leaves"}:
        raise CorruptEnvelope("evidence envelope fields must be version, readers, nonce, ciphertext, leaves")
    readers = body["readers"]
    if not isinstance(readers, dict) or not 1 <= len(readers) <= MAX_READERS:
        raise CorruptEnvelope(f"evidence envelope must name 1 to {MAX_READERS} readers")
    for address, entry in readers.items():
        if not is_checksum_address(address):
            raise CorruptEnvelope("evidence envelope readers must be checksummed addresses")
        if not isinstance(entry, dict) or set(entry) != set(_WRAP):
            raise CorruptEnvelope("each evidence reader entry is {ephemeral, nonce, wrapped}")
        for name, size in _WRAP.items():
            _hex(entry[name], size, f"reader {name}")
    _hex(body["nonce"], 12, "nonce")
    ciphertext = body["ciphertext"]  # megabytes: its hex is checked by decoding it and by the canonical form
    if not isinstance(ciphertext, str) or len(ciphertext) < 32 or len(ciphertext) % 2:
        raise CorruptEnvelope("evidence envelope ciphertext must be hex, at least its authentication tag")
    leaves = body["leaves"]
    if not isinstance(leaves, list) or not 1 <= len(leaves) <= MAX_LEAVES:
        raise CorruptEnvelope(f"evidence envelope must carry 1 to {MAX_LEAVES} Merkle leaves")
    for leaf in leaves:
        _hex(leaf, 32, "leaf")


def seal(plaintext: bytes, reader_public_keys: list[bytes], leaves: tuple[bytes, ...] = ()) -> Envelope:
    if not reader_public_keys:
        raise ValueError("evidence must have at least one reader")
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, None)
    readers = {}
    for public_key in reader_public_keys:
        ephemeral = coincurve.PrivateKey()
        ephemeral_pub = ephemeral.public_key.format(compressed=False)[1:]
        kek = _kek(_ecdh(ephemeral.secret, public_key), ephemeral_pub, public_key)
        wrap_nonce = os.urandom(12)
        readers[address_of_public_key(public_key)] = {
            "ephemeral": ephemeral_pub.hex(),
            "nonce": wrap_nonce.hex(),
            "wrapped": AESGCM(kek).encrypt(wrap_nonce, data_key, None).hex(),
        }
    return Envelope(readers, nonce, ciphertext, tuple(leaves))


def open_envelope(envelope: Envelope, private_key: bytes) -> bytes:
    own_public = public_key_of(private_key)
    address = address_of_public_key(own_public)
    entry = envelope.readers.get(address)
    if entry is None:
        raise NotAReader(f"account {address} is not allowed to read this evidence")
    try:
        ephemeral_pub = bytes.fromhex(entry["ephemeral"])
        kek = _kek(_ecdh(private_key, ephemeral_pub), ephemeral_pub, own_public)
        data_key = AESGCM(kek).decrypt(bytes.fromhex(entry["nonce"]), bytes.fromhex(entry["wrapped"]), None)
        return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, None)
    except Exception as exc:  # InvalidTag, bad points, bad hex: all mean the envelope was altered
        raise CorruptEnvelope("evidence envelope failed authentication: it was altered") from exc
