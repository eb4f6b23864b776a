"""What the evidence store lets one account, one root and the disk take.

Every node keeps every envelope, so an allowlisted member who uploads without end would fill every
organisation's disk, and junk filed under somebody's claim root would bury the real envelope:
- per root: at most `per_root` envelopes, `per_root_per_uploader` of them from one account (a
  claim needs one; a disputed claim adds jury copies; the rest is room for re-uploads);
- per account: at most `uploader_envelopes` envelopes and `uploader_mib` MiB in all;
- per disk: an upload is refused while it would leave less than `min_free_disk_mib` free on the
  disk that holds the store, which is the chain's disk: evidence can never fill it.
Answers (`hubao_getEvidence`, a peer's fetch) come in pages of about `page_mib` (at least one upload),
well inside the p2p frame. Operators set these in node.toml `[evidence]` (docs/nodes.md).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from .store import EvidenceStore
from .upload import Upload

MIB = 1024 * 1024


@dataclass(frozen=True)
class EvidenceLimits:
    per_root: int = 32
    per_root_per_uploader: int = 4
    uploader_envelopes: int = 4096
    uploader_mib: int = 256
    min_free_disk_mib: int = 2048
    page_mib: int = 4


class QuotaExceeded(Exception):
    """An upload the store has no room for: why, in one line."""


class Quotas:
    def __init__(self, store: EvidenceStore, limits: EvidenceLimits) -> None:
        self.store = store
        self.limits = limits
        self._usage: dict[str, list[int]] = {}  # uploader -> [envelopes, bytes], from the files
        for _, uploader, size in store.filed():
            self._count(uploader, size)

    def _count(self, uploader: str, size: int) -> None:
        usage = self._usage.setdefault(uploader, [0, 0])
        usage[0] += 1
        usage[1] += size

    def check(self, upload: Upload) -> None:
        """Raise QuotaExceeded when filing this (new) upload would pass a bound."""
        limits, root = self.limits, "0x" + upload.root.hex()
        filed = [self.store.uploader_of(root, blob_id) for blob_id in self.store.ids(root)]
        if len(filed) >= limits.per_root:
            raise QuotaExceeded(f"{len(filed)} envelopes are filed under {root} already (per_root)")
        if filed.count(upload.uploader) >= limits.per_root_per_uploader:
            raise QuotaExceeded(
                f"{upload.uploader} filed {limits.per_root_per_uploader} envelopes under {root} already"
            )
        count, size = self._usage.get(upload.uploader, (0, 0))
        if count >= limits.uploader_envelopes or size + len(upload.envelope) > limits.uploader_mib * MIB:
            raise QuotaExceeded(
                f"{upload.uploader} has used its evidence quota ({count} envelopes, {size / MIB:.1f} MiB; "
                f"at most {limits.uploader_envelopes} and {limits.uploader_mib} MiB)"
            )
        free = shutil.disk_usage(self.store.directory).free
        if free - len(upload.envelope) < limits.min_free_disk_mib * MIB:
            raise QuotaExceeded(
                f"the node keeps {limits.min_free_disk_mib} MiB of its disk free for the chain and has "
                f"{free / MIB:.0f} MiB: evidence uploads are refused until an operator makes room"
            )

    def filed(self, upload: Upload) -> None:
        self._count(upload.uploader, len(upload.envelope))
