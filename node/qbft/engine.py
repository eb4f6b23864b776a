"""The QBFT engine: the node's block producer in consortium mode, assembled from Besu's rooms.

    controller   sorts consensus messages by height, buffers future ones   node.qbft.controller
    height       the round state machine of the height being decided      node.qbft.height
    validation   what a message or proposed block must satisfy            node.qbft.validation
    timers       when round 0 starts, when a round times out               node.qbft.timers
    creator      builds our proposals                                     node.qbft.creator
    importer     executes proposals, commits sealed blocks, imports       node.qbft.importer
    lock store   the prepared certificate, kept across a crash            node.qbft.lockstore
    sign log     what we signed, never contradicted                       node.qbft.signlog

The engine wires them to the node (ChainAPI, the pool, the clock) and to p2p (PeerNetworkAPI),
implements the height manager's environment with one line per need, follows the head (votes,
sign log, the next height) and offers the qbft_* RPC namespace. Member nodes (non-validators)
run the same engine and only follow: gossip of committed blocks plus block sync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

import rlp

from node.abc import BlockProducerAPI, NodeAPI
from node.errors import NodeError
from node.p2p.abc import TOPIC_QBFT, PeerNetworkAPI
from node.qbft import messages as m
from node.qbft.config import QbftConfig
from node.qbft.controller import QbftController
from node.qbft.creator import BlockCreator, reround
from node.qbft.executed import ExecutedBlocks
from node.qbft.extradata import ExtraData, InvalidExtraData
from node.qbft.height import HeightEnvAPI, HeightManager, InvalidMessage
from node.qbft.importer import BlockImporter
from node.qbft.keys import Signer
from node.qbft.limits import QbftLimits
from node.qbft.lockstore import LockStore
from node.qbft.rawrlp import block_items
from node.qbft.round import PreparedCertificate
from node.qbft.rules import QbftRules
from node.qbft.signlog import SignLog
from node.qbft.timers import BlockTimer, RoundTimer
from node.qbft.validation import check_proposed_header
from node.qbft.validators import VoteProposer
from node.sync import BlockSync

log = logging.getLogger("node.qbft")


def decode_block(data: bytes) -> Any:
    """A block from a peer's bytes, its RLP bounded before py-evm decodes it."""
    from node.vm import BlockClass

    block_items(data)
    return rlp.decode(data, sedes=BlockClass)


def decode_header(data: bytes) -> Any:
    from node.vm import HeaderClass

    return rlp.decode(data, sedes=HeaderClass)


PRE_BESU_GENESIS_NONCE = b"\0\0\0\0\0\0\0\x42"  # py-evm's default, which earlier Hubao wrote


def refuse_pre_besu_chain(chain: Any) -> None:
    """A datadir written before Hubao's headers became Besu's cannot be continued (docs/besu.md):
    its genesis has py-evm's nonce and difficulty 0, its blocks difficulty 0 and no BFT mixHash."""
    genesis, head = chain.genesis, chain.head
    old_genesis = genesis.difficulty == 0 and genesis.nonce == PRE_BESU_GENESIS_NONCE
    if old_genesis or (head.block_number > 0 and head.difficulty != 1):
        raise NodeError(
            "this datadir holds a chain made before Hubao's blocks became Besu's (difficulty 0, no BFT "
            "mixHash): it cannot be continued; start a new datadir from genesis.json (docs/besu.md)"
        )


class QbftEngine(BlockProducerAPI, HeightEnvAPI):
    def __init__(
        self, network: PeerNetworkAPI, node_key: bytes, config: QbftConfig, limits: QbftLimits = QbftLimits()
    ) -> None:
        self.network = network
        self.limits = limits
        self.signer = Signer(node_key)
        self.address = self.signer.address
        self.config = config
        self.votes = VoteProposer()
        self.executed = ExecutedBlocks()
        self.node: NodeAPI | None = None
        self.sync: BlockSync | None = None
        self.controller: QbftController | None = None
        self._unsubscribe: Any = None
        # The on-chain node allowlist, (address, header) -> bool, set by whoever assembles a
        # permissioned node before start(): add votes may only name allowlisted nodes.
        self.node_filter: Callable[[bytes, Any], bool] | None = None
        self.stats = {"committed": 0, "imported": 0, "rejected": 0, "round_changes": 0}

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, node: NodeAPI) -> None:
        self.node = node
        chain = node.chain
        if not isinstance(chain.rules, QbftRules):
            raise RuntimeError("consortium mode: the chain must be created with node.qbft.rules.QbftRules")
        self.rules: QbftRules = chain.rules
        refuse_pre_besu_chain(chain)
        self.tracker = self.rules.bind(chain)
        self.signlog = SignLog(os.path.join(node.datadir, "qbft-signed.log"))
        self.locks = LockStore(os.path.join(node.datadir, "qbft-lock.rlp"), decode_block)
        self.creator = BlockCreator(
            chain, node.txpool, node.clock, self.config, self.tracker, self.votes, self.address, self.executed
        )
        self.importer = BlockImporter(chain, self.rules, self.executed, self.stats, self.config.min_spacing)
        self.creator.node_allowed = self.importer.node_allowed = self.node_filter
        self.block_timer = BlockTimer(self.config, node.clock, lambda: len(node.txpool) == 0)
        self.controller = QbftController(
            chain,
            self.network,
            self._make_height,
            self.importer.import_off_loop,
            decode_block,
            self.block_timer,
            RoundTimer(self.config),
            self.stats,
            decode_header,
            self.limits,
            pre_execute=self.importer.pre_execute,
            build_ahead=self.creator.build_ahead,
        )
        self.sync = self.controller.sync = BlockSync(
            chain, self.network, self.importer.import_off_loop, decode_block
        )
        self.network.subscribe(TOPIC_QBFT, self._on_gossip)
        self._unsubscribe = chain.subscribe_new_heads(self._on_new_head)
        node.txpool.on_new_tx.append(lambda tx: self.block_timer.wake())
        self.sync.start()
        self.controller.new_height()

    def rpc_namespaces(self) -> list:
        from node.qbft.rpc import QbftNamespace

        return [QbftNamespace(self)]

    async def stop(self) -> None:
        if self.controller:
            self.controller.stop()
        if self.sync:
            await self.sync.stop()
        if self._unsubscribe:
            self._unsubscribe()
        with contextlib.suppress(Exception):
            self.signlog.close()

    # --- status (RPC) --------------------------------------------------------------------

    @property
    def chain(self) -> Any:
        return self.node.chain

    @property
    def hm(self) -> HeightManager | None:
        """The height manager of the height being decided (None while we do not validate it)."""
        return self.controller.height_manager if self.controller else None

    def is_validator(self) -> bool:
        return self.address in self.tracker.validators_for(self.chain.head.block_number + 1)

    def may_add_validator(self, address: bytes) -> bool:
        """Is `address` a node the allowlist admits at the head (always, without an allowlist)?"""
        return self.node_filter is None or self.node_filter(address, self.chain.head)

    def status(self) -> dict[str, Any]:
        hm = self.hm
        head = self.chain.head
        return {
            "height": head.block_number,
            "sequence": head.block_number + 1,
            "round": hm.round if hm else None,
            "validator": hm is not None,
            "proposer": "0x" + hm.proposer(hm.round).hex() if hm else None,
            "validators": ["0x" + v.hex() for v in self.tracker.validators_for(head.block_number + 1)],
            "syncing": bool(self.sync and self.sync.syncing),
            **self.stats,
        }

    # --- following the head --------------------------------------------------------------

    def _on_new_head(self, block: Any, receipts: tuple) -> None:
        header = block.header
        with contextlib.suppress(InvalidExtraData):
            extra = ExtraData.decode(header.extra_data)
            if extra.vote and bytes(header.coinbase) == self.address:
                self.votes.included(extra.vote.recipient, extra.vote.add)
        if self.tracker.is_epoch(header.block_number):
            self.votes.clear()
        self.signlog.prune(header.block_number)
        asyncio.get_running_loop().call_soon(self.controller.new_height)

    def _make_height(self, head: Any) -> HeightManager | None:
        """A height manager for the height above `head` if we validate it, with our lock if any."""
        height = head.block_number + 1
        validators = self.tracker.validators_for(height)
        if self.address not in validators:
            return None
        hm = HeightManager(self, height, validators, bytes(head.coinbase))
        hm.prepared = self.locks.load(height)
        if hm.prepared is not None:
            log.info("height %d: resuming with the block locked in round %d", height, hm.prepared.round)
        return hm

    async def _on_gossip(self, peer: str, data: bytes) -> None:
        self.controller.submit(peer, data)

    # --- HeightEnvAPI: one line per need ---------------------------------------------------

    def decode_block(self, block_rlp: bytes) -> Any:
        try:
            return decode_block(block_rlp)
        except Exception as exc:
            raise InvalidMessage(f"undecodable block: {exc}") from exc

    def create_block(self, round_: int) -> Any | None:
        return self.creator.create(round_)

    def reround(self, block: Any, round_: int) -> Any:
        return reround(block, round_)

    def check_proposed_block(self, block: Any, round_: int) -> None:
        clock = self.node.clock
        height = self.chain.head.block_number + 1
        tolerance = self.config.tolerance() * clock.timescale
        check_proposed_header(block.header, height, round_, clock.now(), tolerance)
        self.importer.execute_proposal(block)

    def guard(self, height: int, round_: int, kind: str, digest: bytes) -> None:
        self.signlog.guard(height, round_, kind, digest)

    def lock(self, height: int, certificate: PreparedCertificate) -> None:
        self.locks.save(height, certificate)

    def send(self, message: Any) -> None:
        if isinstance(message, m.RoundChange):
            self.stats["round_changes"] += 1
        self.network.broadcast(TOPIC_QBFT, m.encode(message))

    def start_timer(self, round_: int) -> None:
        self.controller.start_round_timer(round_)

    def commit(self, sealed_block: Any) -> None:
        if self.importer.commit_sealed(sealed_block):
            self.network.broadcast(TOPIC_QBFT, m.encode(m.NewBlock(rlp.encode(sealed_block))))

    # --- import (sync, NEW_BLOCK) -------------------------------------------------------

    def import_block(self, block: Any) -> None:
        """Import a committed block from a peer (seals, allowlist, execution; raises InvalidBlock),
        on the caller's thread; a running engine imports with `importer.import_off_loop`."""
        self.importer.import_block(block)
