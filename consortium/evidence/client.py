"""The evidence store as a client sees it: `hubao_putEvidence` / `hubao_getEvidence` on any node."""

from __future__ import annotations

from .store import MAX_BLOB, EvidenceError


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


class EvidenceClient:
    def __init__(self, w3) -> None:
        self.w3 = w3

    def _call(self, method: str, params: list):
        reply = self.w3.provider.make_request(method, params)
        if "error" in reply:
            error = reply["error"]
            if error.get("code") == -32601:
                raise EvidenceError("this node does not keep evidence (no hubao_ evidence methods)")
            raise EvidenceError(f"the node refused the evidence: {error.get('message')}")
        return reply["result"]

    def put(self, root: bytes | str, blob: bytes) -> str:
        """Store an envelope under the evidence root; the node replicates it to its peers."""
        if len(blob) > MAX_BLOB:
            raise EvidenceError(
                f"the sealed evidence is {len(blob) / 2**20:.1f} MB and the store takes at most "
                f"{MAX_BLOB / 2**20:.0f} MB per envelope: send smaller scans, or fewer files"
            )
        return self._call("hubao_putEvidence", [_hex(root), "0x" + blob.hex()])

    def get(self, root: bytes | str) -> list[bytes]:
        return [bytes.fromhex(b[2:]) for b in self._call("hubao_getEvidence", [_hex(root)])]
