"""The consortium console: every node's height, round, peers and pool; the validator set, the
allowlists and open proposals; block times, transactions per second and validator votes over the
last hour of chain time (at most `WINDOW` blocks), all read over JSON-RPC."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import aiohttp

from consortium.client import connect
from consortium.network.governance import AllowlistClient
from consortium.web.chain import ChainSource
from consortium.web.nodes import NodeRef, RpcFailed, batch, probe_all
from node.permissioning import ALLOWLIST_ADDRESS
from node.qbft.extradata import ExtraData, InvalidExtraData
from node.qbft.validators import quorum

WINDOW = 600  # most recent blocks kept and charted
HOUR = 3600
SHOWN_ACCOUNTS = 50  # the account allowlist can hold every member: show the first few and the count


@dataclass(frozen=True)
class BlockInfo:
    number: int
    timestamp: int
    txs: int
    gas_used: int
    miner: str
    vote: tuple[str, bool] | None  # (address, add) a validator voted for in this header


def _block_info(block: dict) -> BlockInfo:
    vote = None
    with contextlib.suppress(InvalidExtraData, ValueError, TypeError):
        extra = ExtraData.decode(bytes.fromhex(block["extraData"][2:]))
        if extra.vote is not None:
            vote = ("0x" + extra.vote.recipient.hex(), extra.vote.add)
    return BlockInfo(
        int(block["number"], 16),
        int(block["timestamp"], 16),
        len(block.get("transactions") or []),
        int(block["gasUsed"], 16),
        block["miner"].lower(),
        vote,
    )


class RecentBlocks:
    """The last `WINDOW` blocks of one node, read in batches only where not already held."""

    def __init__(self) -> None:
        self.blocks: dict[int, BlockInfo] = {}
        self.url = ""

    async def update(self, session: aiohttp.ClientSession, url: str, head: int) -> list[BlockInfo]:
        if url != self.url or any(n > head for n in self.blocks):  # another node, or the chain went back
            self.blocks, self.url = {}, url
        wanted = [n for n in range(max(0, head - WINDOW + 1), head + 1) if n not in self.blocks]
        for i in range(0, len(wanted), 200):
            chunk = wanted[i : i + 200]
            found = await batch(session, url, [("eth_getBlockByNumber", [hex(n), False]) for n in chunk], 10)
            for block in found:
                if block:
                    info = _block_info(block)
                    self.blocks[info.number] = info
        for n in [n for n in self.blocks if n <= head - WINDOW]:
            del self.blocks[n]
        return [self.blocks[n] for n in sorted(self.blocks)]


def _chart(kind: str, labels: list, label: str, data: list) -> dict:
    return {"type": kind, "labels": labels, "series": [{"label": label, "data": data}]}


def charts(blocks: list[BlockInfo]) -> dict:
    """Block times (seconds between a block and its parent) and transactions per second per minute,
    over the last hour of chain time (so at most 61 minutes, however far a dev chain's clock jumped)."""
    if not blocks:
        return {}
    since = blocks[-1].timestamp - HOUR
    pairs = [(a, b) for a, b in zip(blocks, blocks[1:], strict=False) if b.timestamp > since]
    minutes: dict[int, int] = {}
    for b in blocks:
        if b.timestamp > since:
            minutes[b.timestamp // 60 * 60] = minutes.get(b.timestamp // 60 * 60, 0) + b.txs
    span = range(min(minutes), max(minutes) + 60, 60)
    return {
        "block_time": _chart(
            "line", [b.number for _, b in pairs], "seconds since the parent block",
            [b.timestamp - a.timestamp for a, b in pairs],
        ),
        "tps": _chart(
            "bar", [time.strftime("%H:%M", time.gmtime(m)) for m in span], "transactions per second",
            [round(minutes.get(m, 0) / 60, 3) for m in span],
        ),
    }  # fmt: skip


def governor_proposals(source: ChainSource) -> list[dict]:
    """The suite governor's open proposals: not executed and not expired (the governor refuses to
    approve or execute a proposal from its `expiresAt` on; the head's time is the chain's now)."""
    g = source.suite.governor
    needed = g.needed()
    now = g.w3.eth.get_block("latest")["timestamp"]
    created = {e["args"]["id"]: e["args"] for e in g.events("ProposalCreated")}
    rows = []
    for pid, args in created.items():
        proposal = g.proposal(pid)
        if not proposal.executed and now < proposal.expiresAt:
            rows.append(
                {"id": pid, "target": args["target"], "description": args["description"],
                 "approvals": g.approvals(pid), "needed": needed}
            )  # fmt: skip
    return rows


def no_chain() -> dict:
    """What the console shows of the chain when no node answers."""
    keys = ("validators", "quorum", "nodes_allowlist", "accounts_count", "admins", "timescale",
            "allowlist_proposals", "governor_proposals")  # fmt: skip
    return {**dict.fromkeys(keys), "accounts": []}


class Console:
    def __init__(self, nodes: list[NodeRef], source: ChainSource) -> None:
        self.nodes = nodes or [NodeRef("node", "", source.rpc)]
        self.source = source
        self.blocks = RecentBlocks()
        self._clients: dict[str, AllowlistClient] = {}

    async def view(self, session: aiohttp.ClientSession) -> dict:
        rows = await probe_all(session, self.nodes)
        up = [r for r in rows if r["state"] == "up"]
        view = {"nodes": rows, "up": len(up), "reference": None, "chain": no_chain(), "blocks": [],
                "charts": {}, "votes": [], "window": 0, "chain_problem": None}  # fmt: skip
        if not up:
            return view
        ref = max(up, key=lambda r: r["height"])
        view["reference"] = ref["name"]
        try:
            jwt = next((n.jwt for n in self.nodes if n.url == ref["url"]), None)
            view["chain"] = await self._chain(session, ref["url"], jwt)
            blocks = await self.blocks.update(session, ref["url"], ref["height"])
            view["blocks"] = list(reversed(blocks[-12:]))
            view["window"] = len(blocks)
            view["charts"] = charts(blocks)
            view["votes"] = self._votes(blocks)
        except RpcFailed as exc:
            view["chain_problem"] = f"it stopped answering ({exc}); the nodes' rows above are as probed"
        self._name_validators(view, rows)
        return view

    async def _chain(self, session: aiohttp.ClientSession, url: str, jwt: bytes | None = None) -> dict:
        validators, nodes, accounts, admins, code, info = await batch(
            session,
            url,
            [
                ("qbft_getValidatorsByBlockNumber", ["latest"]),
                ("perm_getNodesAllowlist", []),
                ("perm_getAccountsAllowlist", []),
                ("perm_getAdmins", []),
                ("eth_getCode", [ALLOWLIST_ADDRESS, "latest"]),
                ("admin_nodeInfo", []),
            ],
            jwt=jwt,
        )
        chain = {
            "validators": [v.lower() for v in validators] if validators is not None else None,
            "quorum": quorum(len(validators)) if validators else None,
            "nodes_allowlist": [n.lower() for n in nodes] if nodes is not None else None,
            "accounts_count": len(accounts) if accounts is not None else None,
            "accounts": (accounts or [])[:SHOWN_ACCOUNTS],
            "admins": admins,
            "timescale": ((info or {}).get("clock") or {}).get("timescale"),
            "allowlist_proposals": None,
            "governor_proposals": None,
        }
        # contract reads: a chain without the allowlist or the suite simply has no such proposals
        if code and code != "0x":
            with contextlib.suppress(Exception):
                chain["allowlist_proposals"] = await asyncio.to_thread(self._allowlist(url).pending)
        if self.source.suite is not None:
            with contextlib.suppress(Exception):
                chain["governor_proposals"] = await self.source.read(governor_proposals, self.source)
        return chain

    def _allowlist(self, url: str) -> AllowlistClient:
        if url not in self._clients:
            self._clients[url] = AllowlistClient(connect(url, timeout=3))
        return self._clients[url]

    @staticmethod
    def _votes(blocks: list[BlockInfo]) -> list[dict]:
        return [
            {"block": b.number, "time": b.timestamp, "by": b.miner, "target": b.vote[0], "add": b.vote[1]}
            for b in reversed(blocks)
            if b.vote is not None
        ]

    @staticmethod
    def _name_validators(view: dict, rows: list[dict]) -> None:
        """Names for the addresses the chain shows (a node's id is its validator address)."""
        names = {r["node_id"]: r["name"] for r in rows if r["node_id"]}
        view["names"] = names
        validators = view["chain"]["validators"]
        if validators is None:
            return
        for r in rows:
            if r["validator"] is None and r["node_id"]:
                r["validator"] = r["node_id"] in validators
