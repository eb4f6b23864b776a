"""The QBFT engine: the node's block producer in consortium mode.

It owns one HeightManager for the height being decided, feeds it consensus messages from the
p2p "qbft" topic, runs the round timers and the block-period schedule, executes proposed blocks
through the chain before preparing them, persists what it signs before sending it, commits the
block a quorum sealed, and announces committed blocks (NEW_BLOCK) for member nodes. Member nodes
(non-validators) run the same engine and only follow: gossip of committed blocks plus block sync.

What crosses into the node: ChainAPI (build/validate/commit, headers), the pool (pending txs,
account filter), the clock, the RPC registry. Into p2p: PeerNetworkAPI only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import OrderedDict
from typing import Any

import rlp

from node.abc import BlockProducerAPI, NodeAPI
from node.errors import InvalidBlock
from node.p2p.abc import TOPIC_QBFT, PeerNetworkAPI
from node.qbft import messages as m
from node.qbft.config import QbftConfig
from node.qbft.extradata import ExtraData, InvalidExtraData, Vote, block_hash
from node.qbft.height import HeightEnvAPI, HeightManager, InvalidMessage, NotNow
from node.qbft.keys import Signer
from node.qbft.round import PreparedCertificate
from node.qbft.rules import QbftRules
from node.qbft.signlog import SignLog, write_atomically
from node.qbft.validators import VoteProposer, proposer_for
from node.sync import BlockSync

log = logging.getLogger("node.qbft")

FUTURE_HEIGHTS = 8  # buffer consensus messages this far ahead (we may be about to commit)
FUTURE_BUFFER = 4096


def decode_block(data: bytes) -> Any:
    from node.vm import BlockClass

    return rlp.decode(data, sedes=BlockClass)


def _peek_number(block_rlp: bytes) -> int:
    """A block's number without building its transactions (header field 8)."""
    header = rlp.decode(block_rlp, strict=False)[0]
    return int.from_bytes(header[8], "big")


class QbftEngine(BlockProducerAPI, HeightEnvAPI):
    def __init__(self, network: PeerNetworkAPI, node_key: bytes, config: QbftConfig) -> None:
        self.network = network
        self.signer = Signer(node_key)
        self.address = self.signer.address
        self.config = config
        self.votes = VoteProposer()
        self.node: NodeAPI | None = None
        self.hm: HeightManager | None = None
        self.sync: BlockSync | None = None
        self._validated: OrderedDict[bytes, tuple] = OrderedDict()
        self._future: dict[int, list[tuple[str, bytes]]] = {}
        self._future_count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._height_task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._head_seen = time.monotonic()
        self._seconds_per_tx = 0.005  # refined by every block built or validated
        self._unsubscribe: Any = None
        self.stats = {"committed": 0, "imported": 0, "rejected": 0, "round_changes": 0}

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, node: NodeAPI) -> None:
        self.node = node
        chain = node.chain
        if not isinstance(chain.rules, QbftRules):
            raise RuntimeError("consortium mode: the chain must be created with node.qbft.rules.QbftRules")
        self.rules: QbftRules = chain.rules
        self.tracker = self.rules.bind(chain)
        self.signlog = SignLog(os.path.join(node.datadir, "qbft-signed.log"))
        self._lock_path = os.path.join(node.datadir, "qbft-lock.rlp")
        self.sync = BlockSync(chain, self.network, self.import_block, decode_block)
        self.network.subscribe(TOPIC_QBFT, self._on_gossip)
        self._unsubscribe = chain.subscribe_new_heads(self._on_new_head)
        node.txpool.on_new_tx.append(self._on_new_tx)
        self.sync.start()
        self._new_height()

    def rpc_namespaces(self) -> list:
        from node.qbft.rpc import QbftNamespace

        return [QbftNamespace(self)]

    async def stop(self) -> None:
        if self._timer:
            self._timer.cancel()
        if self._height_task:
            self._height_task.cancel()
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

    def is_validator(self) -> bool:
        return self.address in self.tracker.validators_for(self.chain.head.block_number + 1)

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

    # --- heights -------------------------------------------------------------------------

    def _on_new_head(self, block: Any, receipts: tuple) -> None:
        header = block.header
        with contextlib.suppress(InvalidExtraData):
            extra = ExtraData.decode(header.extra_data)
            if extra.vote and bytes(header.coinbase) == self.address:
                self.votes.included(extra.vote.recipient, extra.vote.add)
        if self.tracker.is_epoch(header.block_number):
            self.votes.clear()
        self.signlog.prune(header.block_number)
        asyncio.get_running_loop().call_soon(self._new_height)

    def _new_height(self) -> None:
        head = self.chain.head
        height = head.block_number + 1
        if self.hm is not None and self.hm.height == height:
            return
        if self._timer:
            self._timer.cancel()
        if self._height_task:
            self._height_task.cancel()
        self._head_seen = time.monotonic()
        validators = self.tracker.validators_for(height)
        if self.address in validators:
            self.hm = HeightManager(self, height, validators, bytes(head.coinbase))
            self._load_lock(self.hm)
            self._height_task = asyncio.get_running_loop().create_task(self._run_height(self.hm))
        else:
            self.hm = None
        for h in [h for h in self._future if h < height]:
            self._future_count -= len(self._future.pop(h))
        for peer, data in self._future.pop(height, []):
            self._future_count -= 1
            self._handle(peer, data, regossip=False)

    def _due(self) -> float:
        """When round 0 starts (monotonic time): a block period after the parent's timestamp, or
        the empty-block period when there is nothing to include (Besu's block timer), and never
        before chain time passes the parent's timestamp (whole seconds, strictly increasing)."""
        period = self.config.block_period
        if self.config.empty_block_period > 0 and len(self.node.txpool) == 0:
            period = max(period, self.config.empty_block_period)
        clock = self.node.clock
        scale = getattr(clock, "timescale", 1.0)
        target = self.chain.head.timestamp + max(1.0, period * scale)
        return max(self._head_seen, time.monotonic() + (target - clock.now()) / scale)

    async def _run_height(self, hm: HeightManager) -> None:
        while True:
            delay = self._due() - time.monotonic()
            if delay <= 0:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
        if hm is not self.hm or hm.committed or hm.round != 0:
            return
        hm.start()
        if hm.is_proposer(0):
            block = self.create_block(0)
            if block is not None:
                hm.propose(block)

    def _on_new_tx(self, tx: Any) -> None:
        self._wake.set()

    # --- HeightEnvAPI --------------------------------------------------------------------

    def decode_block(self, block_rlp: bytes) -> Any:
        try:
            return decode_block(block_rlp)
        except Exception as exc:
            raise InvalidMessage(f"undecodable block: {exc}") from exc

    def _account_filter(self) -> Any:
        return getattr(self.chain, "account_filter", None) or getattr(
            self.node.txpool, "account_filter", None
        )

    def create_block(self, round_: int) -> Any | None:
        chain = self.chain
        head = chain.head
        height = head.block_number + 1
        validators = self.tracker.validators_for(height)
        vote = None if self.tracker.is_epoch(height) else self.votes.choose(validators)
        extra = ExtraData(validators, Vote(*vote) if vote else None, round_).encode()
        txs = self.node.txpool.pending(chain.gas_limit)
        txs = txs[: max(16, int(self.config.block_budget() / self._seconds_per_tx))]
        timestamp = max(int(self.node.clock.now()), head.timestamp + 1)
        started = time.perf_counter()
        try:
            block, receipts = chain.build_block(txs, timestamp, extra, coinbase=self.address)
        except Exception:
            log.exception("building block #%d failed", height)
            return None
        self._learn(time.perf_counter() - started, len(block.transactions))
        self._remember_validated(block_hash(block.header), receipts)
        return block

    def reround(self, block: Any, round_: int) -> Any:
        extra = ExtraData.decode(block.header.extra_data).with_round(round_)
        return block.copy(header=block.header.copy(extra_data=extra.encode()))

    def check_proposed_block(self, block: Any, round_: int) -> None:
        header = block.header
        head = self.chain.head
        try:
            extra = ExtraData.decode(header.extra_data)
        except InvalidExtraData as exc:
            raise InvalidMessage(str(exc)) from exc
        if header.block_number != head.block_number + 1:
            raise InvalidMessage(
                f"proposal for block #{header.block_number}, expected #{head.block_number + 1}"
            )
        if extra.round != round_ or extra.seals:
            raise InvalidMessage("proposal's extraData round/seals do not match the proposal")
        scale = getattr(self.node.clock, "timescale", 1.0)
        if header.timestamp > self.node.clock.now() + self.config.tolerance() * scale:
            raise NotNow(f"proposal timestamp {header.timestamp} is in the future of our clock")
        digest = block_hash(header)
        if digest in self._validated:
            return
        allow = self._account_filter()
        if allow is not None:
            for tx in block.transactions:
                if not allow.is_allowed(tx.sender, self.chain, head):
                    raise InvalidMessage(f"transaction 0x{tx.hash.hex()} from a sender not on the allowlist")
        started = time.perf_counter()
        try:
            receipts = self.chain.validate_block(block)
        except InvalidBlock as exc:
            raise InvalidMessage(f"proposed block is invalid: {exc}") from exc
        self._learn(time.perf_counter() - started, len(block.transactions))
        self._remember_validated(digest, receipts)

    def _learn(self, seconds: float, n_txs: int) -> None:
        """Track execution speed (moving average) to size the blocks we propose."""
        if n_txs >= 8:
            self._seconds_per_tx = 0.7 * self._seconds_per_tx + 0.3 * (seconds / n_txs)

    def _remember_validated(self, digest: bytes, receipts: tuple) -> None:
        self._validated[digest] = receipts
        while len(self._validated) > 64:
            self._validated.popitem(last=False)

    def guard(self, height: int, round_: int, kind: str, digest: bytes) -> None:
        self.signlog.guard(height, round_, kind, digest)

    def lock(self, height: int, certificate: Any) -> None:
        """RLP [height, round, block, [prepares]] in DATADIR/qbft-lock.rlp, replaced atomically."""
        data = rlp.encode(
            [
                height,
                certificate.round,
                rlp.encode(certificate.block),
                [p.signed.items() for p in certificate.prepares],
            ]
        )
        write_atomically(self._lock_path, data)

    def _load_lock(self, hm: HeightManager) -> None:
        """After a restart in the middle of a height: take up the lock we held."""
        try:
            with open(self._lock_path, "rb") as fh:
                height_raw, round_raw, block_rlp, prepares = rlp.decode(fh.read())
            if int.from_bytes(height_raw, "big") != hm.height:
                return
            block = decode_block(block_rlp)
            parsed = tuple(m.Prepare.parse(p) for p in prepares)
            hm.prepared = PreparedCertificate(
                int.from_bytes(round_raw, "big"), block, block_hash(block.header), parsed
            )
            log.info("height %d: resuming with the block locked in round %d", hm.height, hm.prepared.round)
        except FileNotFoundError:
            return
        except Exception:
            log.exception("ignoring an unreadable lock file")

    def send(self, message: Any) -> None:
        if isinstance(message, m.RoundChange):
            self.stats["round_changes"] += 1
        self.network.broadcast(TOPIC_QBFT, m.encode(message))

    def start_timer(self, round_: int) -> None:
        if self._timer:
            self._timer.cancel()
        hm = self.hm
        self._timer = asyncio.get_running_loop().call_later(
            self.config.round_timeout(round_), self._on_timer, hm, round_
        )

    def _on_timer(self, hm: HeightManager, round_: int) -> None:
        if hm is self.hm and hm is not None:
            hm.on_timeout(round_)

    def commit(self, sealed_block: Any) -> None:
        digest = block_hash(sealed_block.header)
        if sealed_block.header.block_number != self.chain.head.block_number + 1:
            return  # sync imported this height meanwhile (it is final: the same block)
        try:
            self.chain.commit_block(sealed_block, self._validated.get(digest))
        except Exception:
            log.exception("committing block #%d failed", sealed_block.header.block_number)
            return
        self.stats["committed"] += 1
        self.network.broadcast(TOPIC_QBFT, m.encode(m.NewBlock(rlp.encode(sealed_block))))

    # --- import (sync, NEW_BLOCK) -------------------------------------------------------

    def import_block(self, block: Any) -> None:
        """Import a committed block from a peer: seals first, then permissioning, then execution."""
        header = block.header
        head = self.chain.head
        if header.block_number <= head.block_number:
            ours = self.chain.get_header_by_number(header.block_number)
            if ours is not None and self.chain.block_hash(ours) != block_hash(header):
                log.critical("peer block #%d differs from our final block", header.block_number)
                raise InvalidBlock("conflicts with a final block")
            return
        if header.block_number != head.block_number + 1:
            raise InvalidBlock(f"block #{header.block_number} does not follow head #{head.block_number}")
        self.rules.verify_seals(header)
        allow = self._account_filter()
        if allow is not None:
            for tx in block.transactions:
                if not allow.is_allowed(tx.sender, self.chain, head):
                    raise InvalidBlock(f"transaction 0x{tx.hash.hex()} from a sender not on the allowlist")
        receipts = self._validated.get(block_hash(header))  # executed already as a proposal
        if receipts is None:
            receipts = self.chain.validate_block(block)
        self.chain.commit_block(block, receipts)
        self.stats["imported"] += 1

    # --- gossip --------------------------------------------------------------------------

    async def _on_gossip(self, peer: str, data: bytes) -> None:
        self._handle(peer, data, regossip=True)

    def _handle(self, peer: str, data: bytes, regossip: bool) -> None:
        try:
            msg = m.decode(data)
        except m.MalformedMessage as exc:
            self.stats["rejected"] += 1
            self.network.punish(peer, f"malformed consensus message: {exc}")
            return
        if isinstance(msg, m.NewBlock):
            self._on_new_block(peer, msg, data)
            return
        height = msg.signed.rid.height
        head = self.chain.head.block_number
        if height <= head:
            return  # old height: a late or replayed message changes nothing
        if height > head + 1 or (self.hm is not None and self.hm.height != height):
            if height <= head + FUTURE_HEIGHTS and self._future_count < FUTURE_BUFFER:
                self._future.setdefault(height, []).append((peer, data))
                self._future_count += 1
            if height > head + 1 and self.sync:
                self.sync.trigger(height - 1)
            return
        if self.hm is None:
            if regossip:
                self.network.broadcast(TOPIC_QBFT, data)
            return
        try:
            self._dispatch(msg)
        except (InvalidMessage, InvalidBlock) as exc:
            self.stats["rejected"] += 1
            log.warning(
                "rejected %s from 0x%s via %s: %s", type(msg).__name__, msg.signed.author.hex(), peer, exc
            )
            if getattr(exc, "punish", True) and "0x" + msg.signed.author.hex() == peer.lower():
                self.network.punish(peer, str(exc))
            return
        if regossip:
            self.network.broadcast(TOPIC_QBFT, data)

    def _dispatch(self, msg: Any) -> None:
        hm = self.hm
        if isinstance(msg, m.Proposal):
            hm.on_proposal(msg)
        elif isinstance(msg, m.Prepare):
            hm.on_prepare(msg)
        elif isinstance(msg, m.Commit):
            hm.on_commit(msg)
        elif isinstance(msg, m.RoundChange):
            hm.on_round_change(msg)

    def _on_new_block(self, peer: str, msg: m.NewBlock, data: bytes) -> None:
        head = self.chain.head.block_number
        try:
            if _peek_number(msg.block_rlp) <= head:
                return  # we have it already (the usual case for a validator): skip decoding it
            block = decode_block(msg.block_rlp)
        except Exception as exc:
            self.network.punish(peer, f"undecodable block: {exc}")
            return
        number = block.header.block_number
        if number > head + 1:
            self.sync.trigger(number)
            return
        try:
            self.import_block(block)
        except (InvalidBlock, InvalidExtraData) as exc:
            self.stats["rejected"] += 1
            log.warning("rejected announced block #%d via %s: %s", number, peer, exc)
            self.network.punish(peer, f"invalid announced block: {exc}")
            return
        self.network.broadcast(TOPIC_QBFT, data)

    # --- votes (RPC) ---------------------------------------------------------------------

    def proposer_of(self, height: int, round_: int) -> bytes:
        parent = self.chain.get_header_by_number(height - 1)
        return proposer_for(self.tracker.validators_for(height), bytes(parent.coinbase), round_)
