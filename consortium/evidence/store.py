"""The consortium's evidence store: content-addressed envelopes, filed under the evidence root.

Each node keeps one under its datadir and serves it over JSON-RPC (`hubao_putEvidence`,
`hubao_getEvidence`). Blobs are addressed by their keccak hash, so a node or peer that alters a
blob is caught on read; files are written to a temporary name, fsynced, then renamed, so a crash
never leaves half a blob.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from eth_utils import keccak

from .envelope import Envelope

MAX_BLOB = 2 * 1024 * 1024  # hex doubles it: within the node's 5 MB JSON-RPC body limit
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")


class EvidenceError(ValueError):
    """A request the store refuses: bad root, oversized or malformed blob."""


def _check_root(root: str) -> str:
    root = root.lower()
    if not _HEX32.match(root):
        raise EvidenceError(f"evidence root must be 0x and 64 hex digits, got {root[:80]!r}")
    return root


class EvidenceStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def put(self, root: str, blob: bytes) -> str:
        """File an envelope under an evidence root; returns the blob id. Idempotent."""
        root = _check_root(root)
        if len(blob) > MAX_BLOB:
            raise EvidenceError(f"evidence blob of {len(blob)} bytes exceeds the {MAX_BLOB}-byte limit")
        Envelope.from_bytes(blob)  # refuse anything that is not an envelope
        blob_id = "0x" + keccak(blob).hex()
        folder = self.directory / root
        folder.mkdir(exist_ok=True)
        target = folder / blob_id
        if not target.exists():
            tmp = folder / f".{blob_id}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(target)
        return blob_id

    def get(self, root: str) -> dict[str, bytes]:
        """Every intact envelope filed under root, by blob id (a damaged file is skipped)."""
        folder = self.directory / _check_root(root)
        if not folder.is_dir():
            return {}
        blobs = {}
        for path in sorted(folder.glob("0x*")):
            data = path.read_bytes()
            if "0x" + keccak(data).hex() == path.name:
                blobs[path.name] = data
        return blobs

    def roots(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir())
