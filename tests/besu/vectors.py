"""Besu's test vectors (tests/besu/fixtures), with the Besu commit they were taken from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
VECTORS = json.loads((FIXTURES / "vectors.json").read_text())


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def hexb(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def rlp_items(node: Any) -> Any:
    """A JSON tree of hex strings and lists as RLP items (bytes and lists)."""
    return [rlp_items(n) for n in node] if isinstance(node, list) else hexb(node)
