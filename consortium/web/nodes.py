"""The consortium's nodes as the console sees them: from `network.json` (`--network DIR`) or a list
of URLs (`--nodes`), each probed with one JSON-RPC batch of standard and the node's own methods.
A method a node does not offer (anvil has no qbft_*), or does not serve to us, is shown as unknown,
never as an error. The node's own methods (admin, qbft, perm, txpool) are signed with its JWT
when the console has its secret: the node folder's jwt.hex for `--network`, $HUBAO_JWT_SECRET
for `--nodes`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from consortium.client.connection import load_jwt_secret
from consortium.client.jwt import authorization
from consortium.network.layout import load_network
from consortium.network.processes import node_secret, pid_of

PROBE_TIMEOUT = 2.0  # seconds a node has to answer before it is shown as not answering
PROBES = (
    "eth_blockNumber",
    "net_peerCount",
    "txpool_status",
    "admin_nodeInfo",
    "qbft_getStatus",
    "qbft_getPendingVotes",
    "eth_syncing",
)


class RpcFailed(Exception):
    """The node did not answer, or answered something that is not JSON-RPC."""


@dataclass(frozen=True)
class NodeRef:
    name: str
    role: str
    url: str
    node_id: str = ""
    folder: Path | None = None  # where `hubao net up` keeps its pid file
    jwt: bytes | None = field(default=None, repr=False)  # the node's JWT secret, when we hold it

    def stopped(self) -> bool:
        """True when we know no process runs it (only for nodes of a --network folder)."""
        return self.folder is not None and pid_of(self.folder) is None


def from_network(directory: Path) -> list[NodeRef]:
    directory = Path(directory)
    return [
        NodeRef(e.name, e.role, e.rpc_url, e.node_id.lower(), directory / e.folder, node_secret(directory, e))
        for e in load_network(directory)
    ]


def from_urls(urls: list[str]) -> list[NodeRef]:
    jwt = load_jwt_secret()
    return [NodeRef(f"node-{i}", "", url.strip(), jwt=jwt) for i, url in enumerate(urls) if url.strip()]


async def batch(
    session: aiohttp.ClientSession,
    url: str,
    calls: list[tuple[str, list]],
    timeout: float = PROBE_TIMEOUT,
    jwt: bytes | None = None,
) -> list:
    """Results of a JSON-RPC batch in call order (signed with the node's `jwt` secret, when given);
    a call the node refused gives None."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    headers = {"Authorization": authorization(jwt)} if jwt is not None else None
    limit = aiohttp.ClientTimeout(total=timeout)
    try:
        async with session.post(url, json=body, headers=headers, timeout=limit) as reply:
            answers = await reply.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError, OSError) as exc:
        raise RpcFailed(str(exc) or type(exc).__name__) from None
    if not isinstance(answers, list):
        raise RpcFailed("the node answered a batch with something other than a list")
    by_id = {a.get("id"): a.get("result") for a in answers if isinstance(a, dict)}
    return [by_id.get(i) for i in range(len(calls))]


def _int(value) -> int | None:
    try:
        return int(value, 16) if isinstance(value, str) else None
    except ValueError:
        return None


async def probe(session: aiohttp.ClientSession, node: NodeRef) -> dict:
    row = {
        "name": node.name,
        "role": node.role,
        "url": node.url,
        "node_id": node.node_id,
        "state": "up",
        "height": None,
        "peers": None,
        "pending": None,
        "queued": None,
        "round": None,
        "validator": None,
        "votes": {},
        "syncing": False,
        "error": None,
    }
    try:
        height, peers, pool, info, qbft, votes, syncing = await batch(
            session, node.url, [(m, []) for m in PROBES], jwt=node.jwt
        )
    except RpcFailed as exc:
        row["state"] = "stopped" if node.stopped() else "not answering"
        row["error"] = str(exc)
        return row
    info, qbft, pool = info or {}, qbft or {}, pool or {}
    row.update(
        height=_int(height),
        peers=_int(peers),
        pending=_int(pool.get("pending")),
        queued=_int(pool.get("queued")),
        round=qbft.get("round", info.get("round")),
        validator=qbft.get("validator", info.get("validator")),
        votes=votes or {},
        syncing=bool(syncing) or bool(qbft.get("syncing")),
    )
    if not node.role and info.get("role"):
        row["role"] = info["role"]
    if info.get("name") and node.name.startswith("node-"):
        row["name"] = info["name"]
    if info.get("id") and not node.node_id:
        row["node_id"] = str(info["id"]).lower()
    if row["height"] is None:
        row["state"], row["error"] = "not answering", "no block number in its answer"
    return row


async def probe_all(session: aiohttp.ClientSession, nodes: list[NodeRef]) -> list[dict]:
    return list(await asyncio.gather(*(probe(session, n) for n in nodes)))
