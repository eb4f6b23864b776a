"""`hubao node run --config FILE`: one consortium node process.

Assembly: the node core (chain with QBFT header rules, pool, JSON-RPC; `node.service.Node`), the
consortium's scaled clock (moved by the on-chain ConsortiumClock's offset when genesis names one in
`config.hubao.clock.contract`), the QBFT engine as block producer, the mutual-TLS p2p network (peers
admitted by the on-chain node allowlist), transaction gossip, the account allowlist as the
account filter (pool -> RPC and gossip, builder, importer) and the perm_/admin_/txpool_ RPC methods.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time

from consortium.network.config import NodeConfig, load_config
from node.chainclock import ClockOffset
from node.errors import NodeError
from node.genesis import Genesis
from node.p2p.abc import PeerNetworkAPI
from node.p2p.transport import P2PConfig, TlsPeerNetwork
from node.p2p.txgossip import TxGossip
from node.permissioning import ALLOWLIST_ADDRESS, Allowlist, AllowlistAccountFilter
from node.timescale import ScaledClock

log = logging.getLogger("consortium.node")


class ConsortiumNode:
    """A node, its engine and its network, started and stopped together."""

    def __init__(self, config: NodeConfig) -> None:
        from node.qbft.config import QbftConfig
        from node.qbft.engine import QbftEngine
        from node.qbft.rules import QbftRules
        from node.service import Node

        self.config = config
        genesis_doc = json.loads(config.genesis.read_text())
        hubao = genesis_doc.get("config", {}).get("hubao", {})
        permissioning = hubao.get("permissioning", {})
        self.allowlist_address = permissioning.get("contract", ALLOWLIST_ADDRESS)
        self.check_accounts = permissioning.get("accounts", True)
        self.check_nodes = permissioning.get("nodes", True)
        secret = config.secret()
        qbft = QbftConfig.from_genesis(genesis_doc)
        self.clock = ScaledClock.from_genesis(genesis_doc)
        self.network = TlsPeerNetwork(
            P2PConfig(
                host=config.p2p_host,
                port=config.p2p_port,
                peers=config.peers,
                ca_cert=config.ca_cert,
                cert=config.tls_cert,
                key=config.tls_key,
                chain_id=int(genesis_doc["config"]["chainId"]),
            ),
            secret,
            self._node_allowed,
        )
        self.engine = QbftEngine(self.network, secret, qbft)
        self.node = Node(
            config.datadir,
            Genesis.from_json(genesis_doc),
            producer=self.engine,
            clock=self.clock,
            rules=QbftRules(qbft.epoch_length),
            host=config.rpc_host,
            port=config.rpc_port,
        )
        self.allowlist = Allowlist(self.node.chain, self.allowlist_address)
        if self.check_nodes:  # a validator vote may only name an allowlisted node (RPC and import)
            self.engine.node_filter = self.allowlist.is_node_allowed
        # the movable clock: its offset is read at the head now and at every new head, before the
        # engine schedules the next height (the engine's timers and proposals see the moved clock)
        self.clock_offset: ClockOffset | None = None
        if clock_contract := hubao.get("clock", {}).get("contract"):
            self.clock_offset = ClockOffset(self.node.chain, self.clock, clock_contract)
            self.clock_offset.follow()
        if self.check_accounts:
            self.node.set_account_filter(AllowlistAccountFilter(self.allowlist_address))
        self.gossip = TxGossip(self.network, self.node.txpool)
        self.node.chain.subscribe_new_heads(lambda block, receipts: self.network.enforce_allowlist())
        register_rpc(self.node.rpc, self)
        # the consortium's evidence store: kept by every node, replicated over the p2p topic "evidence"
        from consortium.evidence.service import EvidenceService

        self.evidence = EvidenceService(config.datadir, self.network)
        self.evidence.attach(self.node)

    def _node_allowed(self, node_id: str) -> bool:
        return not self.check_nodes or self.allowlist.is_node_allowed(node_id)

    async def start(self) -> None:
        await self.network.start()
        await self.node.start()
        log.info(
            "%s (%s) node %s: p2p %s:%d, JSON-RPC http://%s:%d, head #%d",
            self.config.name,
            self.config.role,
            self.network.node_id,
            self.config.p2p_host,
            self.network.listen_port,
            self.config.rpc_host,
            self.node.port,
            self.node.chain.head.block_number,
        )

    async def stop(self) -> None:
        await self.network.stop()
        await self.node.stop()


def register_rpc(rpc, cnode: ConsortiumNode) -> None:
    """perm_ (Besu's read methods, answered from the on-chain lists), admin_, txpool_, net_peerCount."""
    network: PeerNetworkAPI = cnode.network
    started = time.time()

    def peers() -> list[dict]:
        return [
            {
                "id": p.node_id,
                "name": "hubao",
                "network": {"remoteAddress": p.remote, "inbound": p.inbound},
                "protocols": {"hubao": {"version": p.version}},
                "connectedSince": int(p.connected_at),
            }
            for p in network.peers()
        ]

    def node_info() -> dict:
        status = cnode.engine.status()
        return {
            "id": network.node_id,
            "name": cnode.config.name,
            "role": cnode.config.role,
            "validator": bool(cnode.engine.is_validator()),
            "round": status.get("round"),
            "ports": {"listener": cnode.network.listen_port, "rpc": cnode.node.port},
            "startedAt": int(started),
            "clock": {
                "timescale": cnode.clock.timescale,
                "now": int(cnode.clock.now()),
                "offset": int(cnode.clock.offset),
                "movable": cnode.clock_offset is not None,
            },
        }

    def txpool_status() -> dict:
        pending = len(cnode.node.txpool.pending())
        return {"pending": hex(pending), "queued": hex(len(cnode.node.txpool) - pending)}

    rpc.register("perm_getAccountsAllowlist", lambda: cnode.allowlist.accounts())
    rpc.register("perm_getNodesAllowlist", lambda: cnode.allowlist.nodes())
    rpc.register("perm_getAdmins", lambda: cnode.allowlist.admins())
    rpc.register("admin_peers", peers)
    rpc.register("admin_nodeInfo", node_info)
    rpc.register("net_peerCount", lambda: hex(len(network.peers())))
    rpc.register("txpool_status", txpool_status)


def run_from_config(path: str) -> None:
    """Run until SIGTERM/SIGINT. An unusable config or a busy port is one line and exit code 1."""
    import tomllib

    import click

    try:
        config = load_config(path)
        config.secret()
    except KeyError as exc:
        raise click.ClickException(f"{path}: missing setting {exc}") from exc
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    logging.getLogger().setLevel(config.log_level)

    async def main() -> None:
        cnode = ConsortiumNode(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await cnode.start()
        await stop.wait()
        log.info("stopping")
        await cnode.stop()

    try:
        asyncio.run(main())
    except (OSError, NodeError) as exc:  # a port in use, an unreadable certificate, a datadir it cannot use
        raise click.ClickException(f"{config.name}: {exc}") from exc
