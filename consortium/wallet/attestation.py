"""The attestation file an enroller hands a person and their wallet joins with (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from consortium.client import Attestation
from consortium.wallet.words import PlanError


def attestation_to_json(a: Attestation, signature: bytes, chain_id: int, membership: str, cover: int) -> dict:
    return {
        "attestation": {
            "member": a.member,
            "identity": "0x" + a.identity.hex(),
            "tier": a.tier,
            "cover_ends_at": a.cover_ends_at,
            "expiry": a.expiry,
        },
        "signature": "0x" + signature.hex(),
        "chain_id": chain_id,
        "membership": membership,
        "cover": cover,
    }


def attestation_from_json(data: dict) -> tuple[Attestation, bytes]:
    a = data["attestation"]
    attestation = Attestation(
        a["member"],
        bytes.fromhex(a["identity"][2:]),
        int(a["tier"]),
        int(a["cover_ends_at"]),
        int(a["expiry"]),
    )
    return attestation, bytes.fromhex(data["signature"][2:])


def load_attestation(path: str | Path) -> tuple[Attestation, bytes, dict]:
    try:
        data = json.loads(Path(path).read_text())
        return (*attestation_from_json(data), data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PlanError(f"{path} is not an attestation file ({exc.__class__.__name__}: {exc})") from None
