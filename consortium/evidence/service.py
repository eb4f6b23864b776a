"""The evidence store as a node service: JSON-RPC methods, replication to the other nodes.

Every node keeps the envelopes under `<datadir>/evidence` and gossips each new one to its peers,
so losing one node loses no evidence. A node asked for a root it lacks asks its peers before it
answers "none". An upload is the uploader's signed statement (`upload`): every node checks it the
same way whether it comes from a client, a gossiping peer or a peer it asked, so no node, and
nobody who reaches one, can file evidence in an allowlisted account's name. The envelopes are
encrypted to their readers, so serving them to anyone reveals nothing; what a node must never do
is serve an altered blob, and content addressing prevents that.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from eth_utils import to_canonical_address

from node.abc import ChainAPI, RpcHandler, RpcNamespaceAPI, ServiceAPI
from node.errors import INVALID_PARAMS, SERVER_ERROR, RpcError

from .envelope import CorruptEnvelope, Envelope
from .merkle import merkle_root
from .store import MAX_BLOB, EvidenceError, EvidenceStore
from .upload import Upload, UploadRefused

TOPIC_EVIDENCE = "evidence"
log = logging.getLogger("hubao.evidence")


class EvidenceService(ServiceAPI):
    def __init__(self, datadir: str | Path, chain: ChainAPI, network=None) -> None:
        self.store = EvidenceStore(Path(datadir) / "evidence")
        self.network = network
        self.chain = chain  # its chain id signs uploads; its account filter says who may upload
        if network is not None:
            network.subscribe(TOPIC_EVIDENCE, self._on_gossip)
            network.serve(TOPIC_EVIDENCE, self._on_request)

    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (EvidenceNamespace(self),)

    def accept(self, data: object) -> tuple[Upload, str]:
        """Check an upload (from a client or a peer) and file it: (the upload, its envelope id).
        RpcError says why it is refused."""
        try:
            upload = Upload.from_json(data, MAX_BLOB)
            try:
                leaves = Envelope.from_bytes(upload.envelope).leaves
            except CorruptEnvelope as exc:
                raise UploadRefused(str(exc)) from None
            if not leaves:
                raise UploadRefused("the envelope carries no Merkle leaves, so nothing binds it to a root")
            held = merkle_root(list(leaves))
            if held != upload.root:
                raise UploadRefused(
                    f"the envelope holds evidence with root 0x{held.hex()}, not 0x{upload.root.hex()}"
                )
            signer = upload.signer(self.chain.chain_id)
            if signer != upload.uploader:
                raise UploadRefused(f"the upload is signed by {signer}, not by {upload.uploader}")
        except UploadRefused as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        allowed = self.chain.account_filter
        if allowed is not None and not allowed.is_allowed(to_canonical_address(signer), self.chain):
            raise RpcError(SERVER_ERROR, f"evidence uploader {signer} is not on the account allowlist")
        try:
            return upload, self.store.put(upload)
        except (EvidenceError, CorruptEnvelope) as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None

    async def put(self, upload: object = None, *unsigned: object) -> str:
        """hubao_putEvidence({root, envelope, from, signature}) -> envelope id; gossiped to every peer."""
        checked, blob_id = self.accept(upload)
        if self.network is not None:
            self.network.broadcast(TOPIC_EVIDENCE, _wire(checked))
        return blob_id

    async def get(self, root: str) -> list[dict]:
        """hubao_getEvidence(root) -> the uploads filed under root, each {root, envelope, from,
        signature} (asking peers if none here)."""
        try:
            uploads = self.store.get(root)
        except EvidenceError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        if not uploads and self.network is not None:
            await self._fetch_from_peers(root)
            uploads = self.store.get(root)
        return [u.to_json() for u in uploads]

    async def _fetch_from_peers(self, root: str) -> None:
        for peer in self.network.peers():
            try:
                answer = json.loads(
                    await self.network.request(peer.node_id, TOPIC_EVIDENCE, root.encode(), 5.0)
                )
                for upload in answer:
                    if isinstance(upload, dict) and upload.get("root", "").lower() == root.lower():
                        self.accept(upload)
                if answer:
                    return
            except Exception as exc:  # a peer that fails or lies is skipped: every upload is checked
                log.info("evidence fetch of %s from %s failed: %s", root, peer.node_id, exc)

    async def _on_gossip(self, peer_id: str, payload: bytes) -> None:
        try:
            checked, _ = self.accept(json.loads(payload))
        except (ValueError, RpcError) as exc:
            log.warning("dropping bad evidence gossip from %s: %s", peer_id, exc)
            return
        self.network.broadcast(TOPIC_EVIDENCE, _wire(checked))

    async def _on_request(self, peer_id: str, payload: bytes) -> bytes:
        return json.dumps([u.to_json() for u in self.store.get(payload.decode())]).encode()


def _wire(upload: Upload) -> bytes:
    """The one encoding every node gossips, so the transport's de-duplication sees one message."""
    return json.dumps(upload.to_json(), sort_keys=True).encode()


class EvidenceNamespace(RpcNamespaceAPI):
    """hubao_putEvidence / hubao_getEvidence."""

    name = "hubao"

    def __init__(self, service: EvidenceService) -> None:
        self.service = service

    def methods(self) -> dict[str, RpcHandler]:
        return {"hubao_putEvidence": self.service.put, "hubao_getEvidence": self.service.get}
