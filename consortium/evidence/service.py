"""The evidence store as a node service: JSON-RPC methods, replication to the other nodes.

Every node keeps the envelopes under `<datadir>/evidence` and gossips each new one to its peers,
so losing one node loses no evidence. A node asked for a root it lacks asks its peers before it
answers "none". The envelopes are encrypted to their readers, so serving them to anyone reveals
nothing; what a node must never do is serve an altered blob, and content addressing prevents that.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from node.abc import RpcHandler, RpcNamespaceAPI, ServiceAPI
from node.errors import INVALID_PARAMS, RpcError

from .envelope import CorruptEnvelope
from .store import EvidenceError, EvidenceStore

TOPIC_EVIDENCE = "evidence"
log = logging.getLogger("hubao.evidence")


def _decode_hex(value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(INVALID_PARAMS, "evidence blob must be a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise RpcError(INVALID_PARAMS, "evidence blob is not valid hex") from None


class EvidenceService(ServiceAPI):
    def __init__(self, datadir: str | Path, network=None) -> None:
        self.store = EvidenceStore(Path(datadir) / "evidence")
        self.network = network
        if network is not None:
            network.subscribe(TOPIC_EVIDENCE, self._on_gossip)
            network.serve(TOPIC_EVIDENCE, self._on_request)

    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (EvidenceNamespace(self),)

    def _put_local(self, root: str, blob: bytes) -> str:
        try:
            return self.store.put(root, blob)
        except (EvidenceError, CorruptEnvelope) as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None

    async def put(self, root: str, blob_hex: str) -> str:
        """hubao_putEvidence(root, blob) -> blob id; stored here and gossiped to every peer."""
        blob = _decode_hex(blob_hex)
        blob_id = self._put_local(root, blob)
        if self.network is not None:
            self.network.broadcast(TOPIC_EVIDENCE, json.dumps({"root": root, "blob": blob_hex}).encode())
        return blob_id

    async def get(self, root: str) -> list[str]:
        """hubao_getEvidence(root) -> the envelopes filed under root (asking peers if none here)."""
        try:
            blobs = self.store.get(root)
        except EvidenceError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        if not blobs and self.network is not None:
            await self._fetch_from_peers(root)
            blobs = self.store.get(root)
        return ["0x" + blob.hex() for blob in blobs.values()]

    async def _fetch_from_peers(self, root: str) -> None:
        for peer in self.network.peers():
            try:
                answer = json.loads(
                    await self.network.request(peer.node_id, TOPIC_EVIDENCE, root.encode(), 5.0)
                )
                for blob_hex in answer:
                    self._put_local(root, _decode_hex(blob_hex))
                if answer:
                    return
            except Exception as exc:  # a peer that fails or lies is skipped: content addressing
                log.info("evidence fetch of %s from %s failed: %s", root, peer.node_id, exc)

    async def _on_gossip(self, peer_id: str, payload: bytes) -> None:
        try:
            item = json.loads(payload)
            self._put_local(item["root"], _decode_hex(item["blob"]))
        except (ValueError, KeyError, TypeError, RpcError) as exc:
            log.warning("dropping bad evidence gossip from %s: %s", peer_id, exc)
            return
        self.network.broadcast(TOPIC_EVIDENCE, payload)

    async def _on_request(self, peer_id: str, payload: bytes) -> bytes:
        blobs = self.store.get(payload.decode())
        return json.dumps(["0x" + blob.hex() for blob in blobs.values()]).encode()


class EvidenceNamespace(RpcNamespaceAPI):
    """hubao_putEvidence / hubao_getEvidence."""

    name = "hubao"

    def __init__(self, service: EvidenceService) -> None:
        self.service = service

    def methods(self) -> dict[str, RpcHandler]:
        return {"hubao_putEvidence": self.service.put, "hubao_getEvidence": self.service.get}
