"""One organisation's consortium node (`hubao node run --config FILE`), assembled from node/'s parts.

The node core (chain with QBFT's header rules, pool, JSON-RPC) on the consortium's scaled clock
(moved by the on-chain ConsortiumClock's offset when genesis names one in
`config.hubao.clock.contract`); the QBFT engine as block producer; the mutual-TLS p2p network
(peers admitted by the on-chain node allowlist); transaction gossip; the account allowlist as the
account filter (pool -> RPC and gossip, builder, importer); and the services with their JSON-RPC
namespaces: qbft (the engine), perm (the allowlist), admin (this node), hubao (the evidence store,
replicated over the p2p topic "evidence").
"""

from __future__ import annotations

import json
import logging
import time

from consortium.evidence.service import EvidenceService
from consortium.network.config import NodeConfig
from node.abc import RpcHandler, RpcNamespaceAPI, ServiceAPI
from node.chainclock import ClockOffset
from node.core import NodeCore
from node.genesis import Genesis
from node.p2p.transport import TlsPeerNetwork
from node.p2p.txgossip import TxGossip
from node.permissioning import ALLOWLIST_ADDRESS, Allowlist, AllowlistAccountFilter
from node.qbft.config import QbftConfig
from node.qbft.rules import QbftRules
from node.timescale import ScaledClock

log = logging.getLogger("consortium.node")


class ConsortiumNode(ServiceAPI):
    """A node, its engine and its network, started and stopped together; offers `admin`."""

    def __init__(self, config: NodeConfig) -> None:
        from node.qbft import engine as qbft_engine  # looked up now: a byzantine test node swaps it

        self.config = config
        genesis_doc = json.loads(config.genesis.read_text())
        hubao = genesis_doc.get("config", {}).get("hubao", {})
        permissioning = hubao.get("permissioning", {})
        allowlist_address = permissioning.get("contract", ALLOWLIST_ADDRESS)
        self.check_nodes = permissioning.get("nodes", True)
        qbft = QbftConfig.from_genesis(genesis_doc)
        self.clock = ScaledClock.from_genesis(genesis_doc)
        self.network = self._network(config, int(genesis_doc["config"]["chainId"]))
        self.engine = qbft_engine.QbftEngine(self.network, config.secret(), qbft, config.qbft_limits)
        self.core = NodeCore(
            config.datadir,
            Genesis.from_json(genesis_doc),
            self.clock,
            rules=QbftRules(qbft.epoch_length),
            peers=self.network,
            revert_reason=config.rpc.revert_reason,
            limits=config.limits,
        )
        chain = self.core.chain
        self.allowlist = Allowlist(chain, allowlist_address)
        if self.check_nodes:  # a validator vote may only name an allowlisted node (RPC and import)
            self.engine.node_filter = self.allowlist.is_node_allowed
        # the movable clock: its offset is read at the head now and at every new head, before the
        # engine schedules the next height (the engine's timers and proposals see the moved clock)
        self.clock_offset: ClockOffset | None = None
        if clock_contract := hubao.get("clock", {}).get("contract"):
            self.clock_offset = ClockOffset(chain, self.clock, clock_contract)
            self.clock_offset.follow()
        if permissioning.get("accounts", True):
            self.core.set_account_filter(AllowlistAccountFilter(allowlist_address))
        self.gossip = TxGossip(self.network, self.core.txpool)
        chain.subscribe_new_heads(self._after_commit)
        self.evidence = EvidenceService(config.datadir, chain, self.network, config.evidence_limits)
        self.core.set_producer(self.engine)
        for service in (self.allowlist, self, self.evidence):
            self.core.add_service(service)
        self.started = time.time()

    def _network(self, config: NodeConfig, chain_id: int) -> TlsPeerNetwork:
        return TlsPeerNetwork(config.p2p_config(chain_id), config.secret(), self._node_allowed)

    def _after_commit(self, block, receipts) -> None:
        """The allowlists may have changed: drop peers, and pooled transactions of accounts, no
        longer on them (Besu re-checks its pool too)."""
        self.network.enforce_allowlist()
        self.core.txpool.recheck_permissions()

    def _node_allowed(self, node_id: str) -> bool:
        return not self.check_nodes or self.allowlist.is_node_allowed(node_id)

    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (AdminNamespace(self),)

    async def start(self) -> None:
        """Start p2p, then the JSON-RPC listener its `[rpc]` settings describe, then the engine.
        Settings the listener cannot have (AccessError, JwtError) stop it before anything runs."""
        rpc = self.config.rpc
        access = rpc.access()
        await self.network.start()
        try:
            await self.core.listen(rpc.host, rpc.port, access, rpc.limits)
        except BaseException:
            await self.network.stop()
            raise
        await self.core.start()
        log.info(
            "%s (%s) node %s: p2p %s:%d, JSON-RPC http://%s:%d, head #%d",
            self.config.name,
            self.config.role,
            self.network.node_id,
            self.config.p2p_host,
            self.network.listen_port,
            self.config.rpc_host,
            self.core.port,
            self.core.chain.head.block_number,
        )

    async def stop(self) -> None:
        await self.network.stop()
        await self.core.stop()


class AdminNamespace(RpcNamespaceAPI):
    """admin_peers and admin_nodeInfo (geth's names): who this node is connected to, and itself."""

    name = "admin"

    def __init__(self, cnode: ConsortiumNode) -> None:
        self.cnode = cnode

    def methods(self) -> dict[str, RpcHandler]:
        return {"admin_peers": self.peers, "admin_nodeInfo": self.node_info}

    def peers(self) -> list[dict]:
        return [
            {
                "id": p.node_id,
                "name": "hubao",
                "network": {"remoteAddress": p.remote, "inbound": p.inbound},
                "protocols": {"hubao": {"version": p.version}},
                "connectedSince": int(p.connected_at),
            }
            for p in self.cnode.network.peers()
        ]

    def node_info(self) -> dict:
        cnode = self.cnode
        status = cnode.engine.status()
        return {
            "id": cnode.network.node_id,
            "name": cnode.config.name,
            "role": cnode.config.role,
            "validator": bool(cnode.engine.is_validator()),
            "round": status.get("round"),
            "ports": {"listener": cnode.network.listen_port, "rpc": cnode.core.port},
            # inbound connections and handshakes refused (unpinned certificate, off the allowlist,
            # banned, over a bound): what shows that strangers and removed nodes are kept out
            "p2p": {"refused": cnode.network.refusals.total},
            "startedAt": int(cnode.started),
            "clock": {
                "timescale": cnode.clock.timescale,
                "now": int(cnode.clock.now()),
                "offset": int(cnode.clock.offset),
                "movable": cnode.clock_offset is not None,
            },
        }
