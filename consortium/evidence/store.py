"""The consortium's evidence store: content-addressed envelopes, filed under the evidence root,
each with the account that uploaded it and that account's signature.

Each node keeps one under its datadir and serves it over JSON-RPC (`hubao_putEvidence`,
`hubao_getEvidence`). A file `<root>/<envelope id>` holds uploader (20 bytes) || signature (65) ||
envelope, the id being keccak(envelope), so a node or peer that alters an envelope is caught on
read, and a peer that fetches it can check the signature again. Files are written to a temporary
name, fsynced, then renamed, so a crash never leaves half an upload. The first account to file an
envelope owns it: the same envelope from another account is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from eth_utils import keccak, to_canonical_address, to_checksum_address

from node.files import atomic_write

from .envelope import Envelope
from .upload import Upload

MAX_BLOB = 2 * 1024 * 1024  # hex doubles it: within the node's 5 MB JSON-RPC body limit
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_HEAD = 20 + 65


class EvidenceError(ValueError):
    """A request the store refuses: bad root, oversized or malformed blob, someone else's envelope."""


def _check_root(root: str) -> str:
    root = root.lower()
    if not _HEX32.fullmatch(root):
        raise EvidenceError(f"evidence root must be 0x and 64 hex digits, got {root[:80]!r}")
    return root


class EvidenceStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def put(self, upload: Upload) -> str:
        """File a checked upload under its root; returns the envelope id. Idempotent per uploader."""
        root = "0x" + upload.root.hex()
        if len(upload.envelope) > MAX_BLOB:
            raise EvidenceError(
                f"evidence blob of {len(upload.envelope)} bytes exceeds the {MAX_BLOB}-byte limit"
            )
        Envelope.from_bytes(upload.envelope)  # refuse anything that is not an envelope
        blob_id = "0x" + keccak(upload.envelope).hex()
        folder = self.directory / root
        folder.mkdir(exist_ok=True)
        target = folder / blob_id
        if target.exists():
            owner = to_checksum_address(target.read_bytes()[:20])
            if owner != upload.uploader:
                raise EvidenceError(f"this envelope was already filed by {owner}")
            return blob_id
        atomic_write(target, to_canonical_address(upload.uploader) + upload.signature + upload.envelope)
        return blob_id

    def get(self, root: str) -> list[Upload]:
        """Every intact upload filed under root, by envelope id (a damaged file is skipped)."""
        folder = self.directory / _check_root(root)
        if not folder.is_dir():
            return []
        uploads = []
        for path in sorted(folder.glob("0x*")):
            data = path.read_bytes()
            envelope = data[_HEAD:]
            if len(data) > _HEAD and "0x" + keccak(envelope).hex() == path.name:
                uploader = to_checksum_address(data[:20])
                uploads.append(Upload(bytes.fromhex(root[2:]), envelope, uploader, data[20:_HEAD]))
        return uploads

    def roots(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir())
