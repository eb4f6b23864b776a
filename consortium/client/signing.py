"""Off-chain signatures the suite verifies: an enroller's attestation (EIP-712), a member's
auto-debit mandate for being enrolled in a batch (EIP-712, a compact EIP-2098 signature), and a
juror's vote commitment. Hashing is done here, in the same way as the contracts, and signed with
coincurve directly (fast enough for 10,000 members)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from coincurve import PrivateKey
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

ATTESTATION_TYPE = b"Attestation(address member,bytes32 identity,uint8 tier,uint64 coverEndsAt,uint64 expiry)"
MANDATE_TYPE = b"Mandate(address member,uint256 limit,uint256 deadline)"
DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
MEMBERSHIP_DOMAIN = ("Hubao Membership", "1")
TIER_UNDER_40, TIER_40_TO_59 = 1, 2
MAX_ALLOWANCE = 2**88 - 1  # a mandate (or allowance) with no limit: the pool's UNLIMITED


@dataclass(frozen=True)
class Attestation:
    member: str
    identity: bytes  # 32 bytes: a commitment to the person's identity, never the ID itself
    tier: int
    cover_ends_at: int
    expiry: int

    def as_tuple(self) -> tuple:
        return (to_checksum_address(self.member), self.identity, self.tier, self.cover_ends_at, self.expiry)


@dataclass(frozen=True)
class Mandate:
    """A member's word that the pool may auto-debit up to `limit` fen, for an enroller to enroll them
    with by `deadline`: signed over Membership's domain, r and vs as EIP-2098 packs them."""

    limit: int
    deadline: int
    r: bytes
    vs: bytes


NO_MANDATE = Mandate(0, 0, b"\0" * 32, b"\0" * 32)


def identity_commitment(national_id: str, salt: bytes | None = None) -> bytes:
    """keccak(salt || id): the chain sees only this; the enroller keeps the salt."""
    return keccak((salt if salt is not None else os.urandom(32)) + national_id.encode())


def domain_separator(name: str, version: str, chain_id: int, contract: str) -> bytes:
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [keccak(DOMAIN_TYPE), keccak(name.encode()), keccak(version.encode()), chain_id, contract],
        )
    )


def typed_digest(separator: bytes, struct_hash: bytes) -> bytes:
    return keccak(b"\x19\x01" + separator + struct_hash)


def attestation_digest(a: Attestation, chain_id: int, membership: str) -> bytes:
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "bytes32", "uint8", "uint64", "uint64"],
            [keccak(ATTESTATION_TYPE), a.member, a.identity, a.tier, a.cover_ends_at, a.expiry],
        )
    )
    return typed_digest(domain_separator(*MEMBERSHIP_DOMAIN, chain_id, membership), struct_hash)


def sign_digest(key: bytes | str, digest: bytes) -> tuple[int, bytes, bytes]:
    """(v, r, s) with v in {27, 28}."""
    if isinstance(key, str):
        key = bytes.fromhex(key.removeprefix("0x"))
    sig = PrivateKey(key).sign_recoverable(digest, hasher=None)
    return sig[64] + 27, sig[:32], sig[32:64]


def sign_attestation(enroller_key, a: Attestation, chain_id: int, membership: str) -> bytes:
    v, r, s = sign_digest(enroller_key, attestation_digest(a, chain_id, membership))
    return r + s + bytes([v])


def mandate_digest(member: str, limit: int, deadline: int, chain_id: int, membership: str) -> bytes:
    struct_hash = keccak(
        encode(["bytes32", "address", "uint256", "uint256"], [keccak(MANDATE_TYPE), member, limit, deadline])
    )
    return typed_digest(domain_separator(*MEMBERSHIP_DOMAIN, chain_id, membership), struct_hash)


def sign_mandate(
    member_key, member: str, limit: int, deadline: int, chain_id: int, membership: str
) -> Mandate:
    """The member's own key signs; the enroller carries it in `enrollBatch`."""
    v, r, s = sign_digest(member_key, mandate_digest(member, limit, deadline, chain_id, membership))
    vs = ((v - 27) << 255 | int.from_bytes(s, "big")).to_bytes(32, "big")
    return Mandate(limit, deadline, r, vs)


def vote_commitment(claim_id: int, juror: str, in_favour: bool, salt: bytes) -> bytes:
    """Same as Jury.commitmentFor: keccak(abi.encode(claimId, juror, inFavour, salt))."""
    return keccak(encode(["uint256", "address", "bool", "bytes32"], [claim_id, juror, in_favour, salt]))
