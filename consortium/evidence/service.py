"""The evidence store as a node service: JSON-RPC methods, replication to the other nodes.

Every node keeps the envelopes under `<datadir>/evidence` and gossips each new one to its peers,
so losing one node loses no evidence. A node asked for a root it lacks asks its peers before it
answers "none". An upload is the uploader's signed statement (`upload`): every node checks it the
same way whether it comes from a client, a gossiping peer or a peer it asked, so no node, and
nobody who reaches one, can file evidence in an allowlisted account's name. The envelopes are
encrypted to their readers, so serving them to anyone reveals nothing; what a node must never do
is serve an altered blob, and content addressing prevents that.

What one account can make every node keep is bounded (`quota`: per root, per account, free disk),
and answers come in pages (`hubao_getEvidence(root, after)`), never more than a p2p frame holds.
A peer that gossips an upload that fails the checks every node makes alike (malformed, badly
signed, leaves not hashing to the root) is punished: an honest node relays only what it filed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eth_utils import keccak, to_canonical_address

from node.abc import ChainAPI, RpcHandler, RpcNamespaceAPI, ServiceAPI
from node.errors import INVALID_PARAMS, LIMIT_EXCEEDED, SERVER_ERROR, RpcError
from node.p2p.refusals import Refusals

from .envelope import CorruptEnvelope, Envelope
from .merkle import merkle_root
from .quota import MIB, EvidenceLimits, QuotaExceeded, Quotas
from .store import MAX_BLOB, EvidenceError, EvidenceStore
from .upload import Upload, UploadRefused

TOPIC_EVIDENCE = "evidence"
_ENVELOPE_ID = re.compile(r"0x[0-9a-f]{64}\Z")
log = logging.getLogger("hubao.evidence")


class EvidenceService(ServiceAPI):
    def __init__(
        self, datadir: str | Path, chain: ChainAPI, network=None, limits: EvidenceLimits = EvidenceLimits()
    ) -> None:
        self.store = EvidenceStore(Path(datadir) / "evidence")
        self.limits = limits
        self.quotas = Quotas(self.store, limits)
        self.network = network
        self.chain = chain  # its chain id signs uploads; its account filter says who may upload
        self.refusals = Refusals(log)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence")
        if network is not None:
            network.subscribe(TOPIC_EVIDENCE, self._on_gossip)
            network.serve(TOPIC_EVIDENCE, self._on_request)

    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (EvidenceNamespace(self),)

    def check(self, data: object) -> Upload:
        """What every node decides alike: a well-formed envelope whose leaves hash to the root, signed
        by the account it names (UploadRefused says why not). Needs nothing but the chain id."""
        upload = Upload.from_json(data, MAX_BLOB)
        try:
            leaves = Envelope.from_bytes(upload.envelope).leaves
        except CorruptEnvelope as exc:
            raise UploadRefused(str(exc)) from None
        held = merkle_root(list(leaves))
        if held != upload.root:
            raise UploadRefused(
                f"the envelope holds evidence with root 0x{held.hex()}, not 0x{upload.root.hex()}"
            )
        signer = upload.signer(self.chain.chain_id)
        if signer != upload.uploader:
            raise UploadRefused(f"the upload is signed by {signer}, not by {upload.uploader}")
        return upload

    def allowed(self, upload: Upload) -> None:
        """The uploader is on the account allowlist (read on the loop thread, like every chain read)."""
        allow = self.chain.account_filter
        if allow is not None and not allow.is_allowed(to_canonical_address(upload.uploader), self.chain):
            raise RpcError(
                SERVER_ERROR, f"evidence uploader {upload.uploader} is not on the account allowlist"
            )

    def keep(self, upload: Upload) -> str:
        """File a checked, allowed upload: the quotas, then the store (RpcError says why not)."""
        root, blob_id = "0x" + upload.root.hex(), "0x" + keccak(upload.envelope).hex()
        new = not self.store.holds(root, blob_id)
        try:
            if new:
                self.quotas.check(upload)
            filed = self.store.put(upload)
        except QuotaExceeded as exc:
            raise RpcError(LIMIT_EXCEEDED, str(exc)) from None
        except (EvidenceError, CorruptEnvelope) as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        if new:
            self.quotas.filed(upload)
        return filed

    async def _off_loop(self, fn, *args):
        """Evidence work (hex, JSON, hashing megabytes, the disk) on the service's one worker thread,
        so JSON-RPC and consensus keep their turns; one thread keeps the store's and quotas' order."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    async def accept(self, data: object) -> tuple[Upload, str]:
        """Check an upload (from a client or a peer) and file it: (the upload, its envelope id)."""
        try:
            upload = await self._off_loop(self.check, data)
        except UploadRefused as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        self.allowed(upload)
        return upload, await self._off_loop(self.keep, upload)

    async def put(self, upload: object = None, *unsigned: object) -> str:
        """hubao_putEvidence({root, envelope, from, signature}) -> envelope id; gossiped to every peer."""
        checked, blob_id = await self.accept(upload)
        if self.network is not None:
            self.network.broadcast(TOPIC_EVIDENCE, await self._off_loop(_wire, checked))
        return blob_id

    async def get(self, root: str, after: str | None = None) -> list[dict]:
        """hubao_getEvidence(root[, after]) -> the uploads filed under root after envelope id `after`,
        each {root, envelope, from, signature}, at most `page_mib` of them: ask again with the last
        one's id until the answer is empty. A first page asks the peers when none is here."""
        try:
            page = await self._off_loop(self.page, root, after)
            if not page and after is None and self.network is not None:
                await self._fetch_from_peers(root)
                page = await self._off_loop(self.page, root, after)
        except EvidenceError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        return page

    def page(self, root: str, after: str | None) -> list[dict]:
        """Uploads under root after envelope id `after`, up to the page budget (at least one)."""
        if after is not None and not (isinstance(after, str) and _ENVELOPE_ID.match(after)):
            raise EvidenceError("after must be an envelope id (0x and 64 hex digits)")
        budget, page, used = self.limits.page_mib * MIB, [], 0
        for blob_id in self.store.ids(root):
            if after is not None and blob_id <= after:
                continue
            upload = self.store.read(root, blob_id)
            if upload is None:
                continue
            entry = upload.to_json()
            used += sum(len(v) for v in entry.values()) + 80
            if page and used > budget:
                break
            page.append(entry)
        return page

    async def _fetch_from_peers(self, root: str) -> None:
        """Ask each peer in turn for root's uploads, page by page, until one has some (each checked
        and filed like any upload)."""
        for peer in self.network.peers():
            after, got = None, False
            try:
                while True:
                    request = json.dumps({"root": root, "after": after}).encode()
                    answer = await self.network.request(peer.node_id, TOPIC_EVIDENCE, request, 10.0)
                    page = await self._off_loop(json.loads, answer)
                    if not isinstance(page, list) or not page:
                        break
                    for upload in page:
                        if isinstance(upload, dict) and str(upload.get("root", "")).lower() == root.lower():
                            await self.accept(upload)
                            got = True
                    after = "0x" + keccak(bytes.fromhex(str(page[-1]["envelope"])[2:])).hex()
            except Exception as exc:  # a peer that fails or lies is skipped: every upload is checked
                log.info("evidence fetch of %s from %s failed: %s", root, peer.node_id, exc)
            if got:
                return

    async def _on_gossip(self, peer_id: str, payload: bytes) -> None:
        try:
            upload = await self._off_loop(self._check_wire, payload)
        except (ValueError, UploadRefused) as exc:  # every node refuses these alike: not honest relaying
            self.network.punish(peer_id, f"gossiped bad evidence: {exc}")
            return
        try:
            self.allowed(upload)
            await self._off_loop(self.keep, upload)
        except RpcError as exc:  # allowlist, quota, disk: this node's own state, not the peer's fault
            self.refusals.refuse(peer_id, "evidence", exc.message)
            return
        self.network.broadcast(TOPIC_EVIDENCE, payload)  # the bytes it came as: one message id

    def _check_wire(self, payload: bytes) -> Upload:
        upload = self.check(json.loads(payload))
        if _wire(upload) != payload:
            raise UploadRefused("evidence gossip not in the one encoding nodes send")
        return upload

    async def _on_request(self, peer_id: str, payload: bytes) -> bytes:
        """A peer's fetch: {root, after} (or a bare root: the first page), answered with one page."""
        return await self._off_loop(self._answer, payload)

    def _answer(self, payload: bytes) -> bytes:
        text = payload.decode()
        request = json.loads(text) if text.startswith("{") else {"root": text, "after": None}
        return json.dumps(self.page(request["root"], request.get("after"))).encode()


def _wire(upload: Upload) -> bytes:
    """The one encoding every node gossips, so the transport's de-duplication sees one message:
    json.dumps(upload.to_json(), sort_keys=True), written out (every value is plain hex)."""
    u = upload.to_json()
    return (
        f'{{"envelope": "{u["envelope"]}", "from": "{u["from"]}", "root": "{u["root"]}", '
        f'"signature": "{u["signature"]}"}}'
    ).encode()


class EvidenceNamespace(RpcNamespaceAPI):
    """hubao_putEvidence / hubao_getEvidence."""

    name = "hubao"

    def __init__(self, service: EvidenceService) -> None:
        self.service = service

    def methods(self) -> dict[str, RpcHandler]:
        return {"hubao_putEvidence": self.service.put, "hubao_getEvidence": self.service.get}
