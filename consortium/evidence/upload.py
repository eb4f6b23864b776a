"""A signed evidence upload: who files an envelope, bound to the evidence root it holds.

`hubao_putEvidence` takes one object, like a signed transaction:

    {"root": "0x<32 bytes>", "envelope": "0x<sealed envelope>", "from": "0x<account>",
     "signature": "0x<65 bytes>"}

`signature` is the account's EIP-712 signature (as a wallet's eth_signTypedData_v4 makes it) over

    domain   EIP712Domain(string name,string version,uint256 chainId) = ("Hubao evidence", "1", chain id)
    message  EvidenceUpload(bytes32 root,bytes32 envelope) = (root, keccak(envelope bytes))

so it names one envelope under one root on one chain and cannot be replayed for anything else.
A node accepts the upload only if the envelope's public leaves hash to `root`, the signature
recovers to `from`, and `from` is on the account allowlist (the claimant, an objector, the
investigator filing a jury copy); it records `from` with the envelope and replicates both.
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey
from eth_utils import keccak, to_checksum_address

NAME, VERSION = "Hubao evidence", "1"
DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId)"
UPLOAD_TYPE = b"EvidenceUpload(bytes32 root,bytes32 envelope)"


class UploadRefused(ValueError):
    """An upload that is malformed or badly signed: why, in one line."""


def upload_digest(chain_id: int, root: bytes, envelope: bytes) -> bytes:
    domain = keccak(
        keccak(DOMAIN_TYPE) + keccak(NAME.encode()) + keccak(VERSION.encode()) + chain_id.to_bytes(32, "big")
    )
    message = keccak(keccak(UPLOAD_TYPE) + root + keccak(envelope))
    return keccak(b"\x19\x01" + domain + message)


def _address(public: PublicKey) -> str:
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


@dataclass(frozen=True)
class Upload:
    root: bytes
    envelope: bytes
    uploader: str  # checksummed account
    signature: bytes  # r || s || v (v 27/28, as wallets write it)

    @classmethod
    def sign(cls, private_key: bytes, chain_id: int, root: bytes, envelope: bytes) -> Upload:
        key = PrivateKey(bytes(private_key))
        raw = key.sign_recoverable(upload_digest(chain_id, root, envelope), hasher=None)
        return cls(root, envelope, _address(key.public_key), raw[:64] + bytes([raw[64] + 27]))

    def signer(self, chain_id: int) -> str:
        """The account that signed this upload on `chain_id` (whatever `uploader` claims)."""
        if len(self.signature) != 65 or self.signature[64] not in (0, 1, 27, 28):
            raise UploadRefused("signature must be 65 bytes r || s || v")
        digest = upload_digest(chain_id, self.root, self.envelope)
        try:
            raw = self.signature[:64] + bytes([self.signature[64] % 27])
            public = PublicKey.from_signature_and_message(raw, digest, hasher=None)
        except Exception:
            raise UploadRefused("signature does not recover to any account") from None
        return _address(public)

    def to_json(self) -> dict:
        return {
            "root": "0x" + self.root.hex(),
            "envelope": "0x" + self.envelope.hex(),
            "from": self.uploader,
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: object, max_envelope: int) -> Upload:
        """Parse what a client or a peer sent; refuses anything malformed, with the reason."""
        if not isinstance(data, dict):
            raise UploadRefused(
                "unsigned evidence upload: hubao_putEvidence takes one signed upload "
                "{root, envelope, from, signature}, signed by the claimant's or objector's account"
            )
        missing = [k for k in ("root", "envelope", "from", "signature") if not isinstance(data.get(k), str)]
        if missing:
            raise UploadRefused(f"evidence upload lacks {', '.join(missing)} (0x-prefixed hex strings)")
        if len(data["envelope"]) > 2 + 2 * max_envelope:
            raise UploadRefused(f"evidence envelope exceeds the {max_envelope}-byte limit")
        root, envelope, signature = (
            _unhex(data[field], field) for field in ("root", "envelope", "signature")
        )
        if len(root) != 32:
            raise UploadRefused("evidence root must be 32 bytes")
        try:
            uploader = to_checksum_address(data["from"])
        except ValueError:
            raise UploadRefused("evidence upload from is not an account address") from None
        if len(signature) != 65:
            raise UploadRefused("signature must be 65 bytes r || s || v")
        return cls(root, envelope, uploader, signature)


def _unhex(value: str, field: str) -> bytes:
    """0x-prefixed hex, nothing else (bytes.fromhex alone would skip whitespace)."""
    try:
        raw = bytes.fromhex(value[2:]) if value.startswith("0x") else None
    except ValueError:
        raw = None
    if raw is None or 2 + 2 * len(raw) != len(value):
        raise UploadRefused(f"evidence upload {field} is not 0x-prefixed hex")
    return raw
