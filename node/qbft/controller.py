"""Sorting consensus traffic by height (Besu's QbftController and FutureMessageBuffer).

Every message from the p2p "qbft" topic is decoded and authenticated once, then sorted:
  past heights    dropped (a late or replayed message changes nothing: those blocks are final)
  this height     handed to the height manager; rejected ones are counted, and their author is
                  punished when it misbehaved (not when it is merely out of step with us)
  future heights  buffered (bounded, a few heights ahead) until we get there, and a hint for
                  block sync that we are behind
  NEW_BLOCK       a committed block: imported (seals, allowlist, execution) and passed on
Accepted messages are re-gossiped, so validators that are not directly connected still hear them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import rlp

from node.abc import ChainAPI
from node.errors import InvalidBlock
from node.p2p.abc import TOPIC_QBFT, PeerNetworkAPI
from node.qbft import messages as m
from node.qbft.extradata import InvalidExtraData
from node.qbft.height import HeightManager
from node.qbft.timers import BlockTimer, RoundTimer
from node.qbft.validation import InvalidMessage

log = logging.getLogger("node.qbft")

FUTURE_HEIGHTS = 8  # buffer consensus messages this far ahead (we may be about to commit)
FUTURE_BUFFER = 4096


def peek_number(block_rlp: bytes) -> int:
    """A block's number without building its transactions (header field 8)."""
    header = rlp.decode(block_rlp, strict=False)[0]
    return int.from_bytes(header[8], "big")


class FutureMessages:
    """Messages for heights we have not reached, bounded in heights ahead and in count."""

    def __init__(self) -> None:
        self._by_height: dict[int, list[tuple[str, bytes]]] = {}
        self._count = 0

    def add(self, head: int, height: int, peer: str, data: bytes) -> None:
        if height <= head + FUTURE_HEIGHTS and self._count < FUTURE_BUFFER:
            self._by_height.setdefault(height, []).append((peer, data))
            self._count += 1

    def take(self, height: int) -> list[tuple[str, bytes]]:
        """The messages for `height`, forgetting those for heights below it."""
        for h in [h for h in self._by_height if h < height]:
            self._count -= len(self._by_height.pop(h))
        taken = self._by_height.pop(height, [])
        self._count -= len(taken)
        return taken


class QbftController:
    def __init__(
        self,
        chain: ChainAPI,
        network: PeerNetworkAPI,
        make_height: Callable[[Any], HeightManager | None],
        import_block: Callable[[Any], None],
        decode_block: Callable[[bytes], Any],
        block_timer: BlockTimer,
        round_timer: RoundTimer,
        stats: dict,
    ) -> None:
        self.chain = chain
        self.network = network
        self.make_height = make_height
        self.import_block = import_block
        self.decode_block = decode_block
        self.block_timer = block_timer
        self.round_timer = round_timer
        self.stats = stats
        self.sync: Any = None  # BlockSync, once started: told when peers are ahead of us
        self.height_manager: HeightManager | None = None
        self.future = FutureMessages()
        self._height_task: asyncio.Task | None = None

    # --- heights -------------------------------------------------------------------------

    def new_height(self) -> None:
        """The head moved (or we started): decide the height above it."""
        head = self.chain.head
        height = head.block_number + 1
        if self.height_manager is not None and self.height_manager.height == height:
            return
        self.round_timer.cancel()
        if self._height_task:
            self._height_task.cancel()
        self.block_timer.reset()
        self.height_manager = hm = self.make_height(head)  # None: we do not validate this height
        if hm is not None:
            starting = self._start_when_due(hm, head.timestamp)
            self._height_task = asyncio.get_running_loop().create_task(starting)
        for peer, data in self.future.take(height):
            self.handle(peer, data, regossip=False)

    async def _start_when_due(self, hm: HeightManager, parent_timestamp: int) -> None:
        await self.block_timer.wait(parent_timestamp)
        if hm is self.height_manager:
            hm.on_block_timer_expiry()

    def start_round_timer(self, round_: int) -> None:
        hm = self.height_manager
        self.round_timer.start(round_, lambda: self._on_round_timer(hm, round_))

    def _on_round_timer(self, hm: HeightManager | None, round_: int) -> None:
        if hm is not None and hm is self.height_manager:
            hm.on_timeout(round_)

    def stop(self) -> None:
        self.round_timer.cancel()
        if self._height_task:
            self._height_task.cancel()

    # --- messages ------------------------------------------------------------------------

    def handle(self, peer: str, data: bytes, regossip: bool) -> None:
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
        hm = self.height_manager
        if height > head + 1 or (hm is not None and hm.height != height):
            self.future.add(head, height, peer, data)
            if height > head + 1 and self.sync:
                self.sync.trigger(height - 1)
            return
        if hm is None:
            if regossip:
                self.network.broadcast(TOPIC_QBFT, data)
            return
        try:
            _dispatch(hm, msg)
        except (InvalidMessage, InvalidBlock) as exc:
            self._rejected(peer, msg, exc)
            return
        if regossip:
            self.network.broadcast(TOPIC_QBFT, data)

    def _rejected(self, peer: str, msg: Any, exc: Exception) -> None:
        self.stats["rejected"] += 1
        author = msg.signed.author
        log.warning("rejected %s from 0x%s via %s: %s", type(msg).__name__, author.hex(), peer, exc)
        if getattr(exc, "punish", True) and "0x" + author.hex() == peer.lower():
            self.network.punish(peer, str(exc))

    def _on_new_block(self, peer: str, msg: m.NewBlock, data: bytes) -> None:
        head = self.chain.head.block_number
        try:
            if peek_number(msg.block_rlp) <= head:
                return  # we have it already (the usual case for a validator): skip decoding it
            block = self.decode_block(msg.block_rlp)
        except Exception as exc:
            self.network.punish(peer, f"undecodable block: {exc}")
            return
        number = block.header.block_number
        if number > head + 1:
            if self.sync:
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


def _dispatch(hm: HeightManager, msg: Any) -> None:
    if isinstance(msg, m.Proposal):
        hm.on_proposal(msg)
    elif isinstance(msg, m.Prepare):
        hm.on_prepare(msg)
    elif isinstance(msg, m.Commit):
        hm.on_commit(msg)
    elif isinstance(msg, m.RoundChange):
        hm.on_round_change(msg)
