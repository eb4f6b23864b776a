"""The evidence store as a client sees it: `hubao_putEvidence` / `hubao_getEvidence` on any node.
Uploads are signed by the uploader's own key (see `upload`); the node holds no keys."""

from __future__ import annotations

from eth_utils import keccak

from .store import MAX_BLOB, EvidenceError
from .upload import Upload, UploadRefused


def _bytes(value: bytes | str) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


class EvidenceClient:
    def __init__(self, w3) -> None:
        self.w3 = w3
        self._chain_id: int | None = None

    def _call(self, method: str, params: list):
        reply = self.w3.provider.make_request(method, params)
        if "error" in reply:
            error = reply["error"]
            if error.get("code") == -32601:
                raise EvidenceError("this node does not keep evidence (no hubao_ evidence methods)")
            raise EvidenceError(f"the node refused the evidence: {error.get('message')}")
        return reply["result"]

    def put(self, root: bytes | str, blob: bytes, key: bytes | str) -> str:
        """Store an envelope under the evidence root, signed by `key` (the claimant's, objector's or
        investigator's account); the node replicates it to its peers."""
        if len(blob) > MAX_BLOB:
            raise EvidenceError(
                f"the sealed evidence is {len(blob) / 2**20:.1f} MB and the store takes at most "
                f"{MAX_BLOB / 2**20:.0f} MB per envelope: send smaller scans, or fewer files"
            )
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        upload = Upload.sign(_bytes(key), self._chain_id, _bytes(root), blob)
        return self._call("hubao_putEvidence", [upload.to_json()])

    def uploads(self, root: bytes | str) -> list[Upload]:
        """Every upload filed under root, with who filed it (its signature is checked by every node),
        read page by page (`hubao_getEvidence(root, after)`) until a page comes back empty."""
        root_hex = root if isinstance(root, str) else "0x" + bytes(root).hex()
        uploads: list[Upload] = []
        after = None
        while True:
            params = [root_hex] if after is None else [root_hex, after]
            try:
                page = [Upload.from_json(u, MAX_BLOB) for u in self._call("hubao_getEvidence", params)]
            except UploadRefused as exc:
                raise EvidenceError(f"the node answered with a malformed upload: {exc}") from None
            last = "0x" + keccak(page[-1].envelope).hex() if page else None
            if last is None or (after is not None and last <= after):  # the end, or no progress
                return uploads
            uploads += page
            after = last

    def get(self, root: bytes | str) -> list[bytes]:
        """The envelopes filed under root."""
        return [u.envelope for u in self.uploads(root)]
