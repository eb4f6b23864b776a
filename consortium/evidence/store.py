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
from collections.abc import Iterator
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
        return [u for blob_id in self.ids(root) if (u := self.read(root, blob_id)) is not None]

    def ids(self, root: str) -> list[str]:
        """The envelope ids filed under root, in order (what paging walks)."""
        folder = self.directory / _check_root(root)
        return sorted(p.name for p in folder.glob("0x*")) if folder.is_dir() else []

    def read(self, root: str, blob_id: str) -> Upload | None:
        """One upload, or None when it is not there or damaged."""
        root = _check_root(root)
        try:
            data = (self.directory / root / _check_root(blob_id)).read_bytes()
        except (FileNotFoundError, EvidenceError):
            return None
        envelope = data[_HEAD:]
        if len(data) <= _HEAD or "0x" + keccak(envelope).hex() != blob_id:
            return None
        return Upload(bytes.fromhex(root[2:]), envelope, to_checksum_address(data[:20]), data[20:_HEAD])

    def uploader_of(self, root: str, blob_id: str) -> str | None:
        """Who filed an envelope (its file's first 20 bytes), without reading the envelope."""
        try:
            with open(self.directory / _check_root(root) / _check_root(blob_id), "rb") as fh:
                head = fh.read(20)
        except FileNotFoundError:
            return None
        return to_checksum_address(head) if len(head) == 20 else None

    def holds(self, root: str, blob_id: str) -> bool:
        return (self.directory / _check_root(root) / _check_root(blob_id)).is_file()

    def filed(self) -> Iterator[tuple[str, str, int]]:
        """(root, uploader, envelope bytes) of every file, read from each file's first 20 bytes."""
        for folder in self.directory.iterdir():
            for path in folder.glob("0x*") if folder.is_dir() else ():
                with open(path, "rb") as fh:
                    uploader = fh.read(20)
                if len(uploader) == 20:
                    yield folder.name, to_checksum_address(uploader), path.stat().st_size - _HEAD
