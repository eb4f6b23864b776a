"""Sorting consensus traffic by height (Besu's QbftController, its event queue and message buffer).

Every message from the p2p "qbft" topic waits in one bounded queue (Besu's `messageQueueLimit`;
one peer may fill at most a quarter of it), then its outer author is recovered and checked before
anything else is read (Besu's validator check; `messages.decode`'s `admit`):
  past heights    dropped (a late or replayed message changes nothing: those blocks are final)
  not a validator refused. At our next height that is certain, so the peer that passed it on is
                  punished: an honest node checks before it relays, and never relays such a
                  message. Above it the set may still change, so a peer gets a few strikes first.
  this height     handed to the height manager; rejected ones are counted, and their author is
                  punished when it misbehaved (not when it is merely out of step with us)
  future heights  buffered (`future.FutureMessages`: heights ahead, count, bytes, a share per
                  author) until we get there, and a hint for block sync that we are behind
  NEW_BLOCK       header first: its commit seals are checked before the body is decoded; then
                  imported (allowlist, execution)
A proposal from its round's proposer is executed on the execution thread (node/offloop.py) before
the height manager sees it; one message is handled at a time, under the chain's execution lock,
which block sync's imports and the timers take as well.
A message is relayed only once accepted (the transport relays nothing by itself), to every peer
but its author and those that sent it, so validators that are not directly connected still hear it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from node.abc import ChainAPI
from node.errors import InvalidBlock
from node.p2p.abc import TOPIC_QBFT, PeerNetworkAPI
from node.p2p.refusals import Refusals
from node.qbft import messages as m
from node.qbft.extradata import InvalidExtraData
from node.qbft.future import FutureMessages
from node.qbft.height import HeightManager
from node.qbft.limits import QbftLimits
from node.qbft.rawrlp import block_items
from node.qbft.timers import BlockTimer, RoundTimer
from node.qbft.validation import InvalidMessage

log = logging.getLogger("node.qbft")

FUTURE_STRIKES = 8  # future messages from non-validators a peer may pass on per height of ours


class Stale(Exception):
    """A message for a height that is final here: nothing to do, nobody to blame."""


class Refused(Exception):
    """A message this node will not keep: `kind` and why, logged once per peer; `punish` costs
    the peer that sent it, `strike` counts towards that."""

    def __init__(self, kind: str, reason: str, punish: bool = False, strike: bool = False) -> None:
        super().__init__(reason)
        self.kind, self.punish, self.strike = kind, punish, strike


class QbftController:
    def __init__(
        self,
        chain: ChainAPI,
        network: PeerNetworkAPI,
        make_height: Callable[[Any], HeightManager | None],
        import_block: Callable[[Any], Awaitable[None]],
        decode_block: Callable[[bytes], Any],
        block_timer: BlockTimer,
        round_timer: RoundTimer,
        stats: dict,
        decode_header: Callable[[bytes], Any] | None = None,
        limits: QbftLimits = QbftLimits(),
        *,
        pre_execute: Callable[[Any], Awaitable[None]],
        build_ahead: Callable[[int], Awaitable[None]],
    ) -> None:
        self.chain = chain
        self.network = network
        self.make_height = make_height
        self.import_block = import_block
        self.pre_execute = pre_execute
        self.build_ahead = build_ahead
        self.decode_block = decode_block
        self.decode_header = decode_header or (lambda raw: decode_block(raw).header)
        self.block_timer = block_timer
        self.round_timer = round_timer
        self.stats = stats
        self.limits = limits
        self.sync: Any = None  # BlockSync, once started: told when peers are ahead of us
        self.height_manager: HeightManager | None = None
        self.future = FutureMessages(limits)
        self.refusals = Refusals(log)
        self._height_task: asyncio.Task | None = None
        self._stopped = False
        self._queue: deque[tuple[str, bytes, bool]] = deque()  # (peer, data, counted in its share)
        self._queued: dict[str, int] = {}
        self._ready = asyncio.Event()
        self._worker: asyncio.Task | None = None
        self._strikes: dict[str, int] = {}

    # --- heights -------------------------------------------------------------------------

    def new_height(self) -> None:
        """The head moved (or we started): decide the height above it."""
        if self._stopped:  # a block committed while the engine stops (sync's last import)
            return
        head = self.chain.head
        height = head.block_number + 1
        if self.height_manager is not None and self.height_manager.height == height:
            return
        self.round_timer.cancel()
        if self._height_task:
            self._height_task.cancel()
        self.block_timer.reset()
        self._strikes.clear()
        self.height_manager = hm = self.make_height(head)  # None: we do not validate this height
        if hm is not None:
            starting = self._start_when_due(hm, head.timestamp)
            self._height_task = asyncio.get_running_loop().create_task(starting)
        taken = self.future.take(height)
        self._queue.extendleft((peer, data, False) for peer, data in reversed(taken))
        if taken:
            self._wake()

    async def _start_when_due(self, hm: HeightManager, parent_timestamp: int) -> None:
        await self.block_timer.wait(parent_timestamp)
        async with self.chain.execution.lock:
            if hm is not self.height_manager or self._stopped:
                return
            if hm.round == 0 and not hm.committed and hm.is_proposer(0):
                await self.build_ahead(0)  # on the execution thread; `create_block` takes it
            if hm is self.height_manager and not self._stopped:
                hm.on_block_timer_expiry()

    def start_round_timer(self, round_: int) -> None:
        hm = self.height_manager
        self.round_timer.start(round_, lambda: self._on_round_timer(hm, round_))

    def _on_round_timer(self, hm: HeightManager | None, round_: int) -> None:
        if hm is not None and hm is self.height_manager:
            asyncio.get_running_loop().create_task(self._time_out(hm, round_))

    async def _time_out(self, hm: HeightManager, round_: int) -> None:
        # after the block being executed or committed, not in its middle
        async with self.chain.execution.lock:
            if hm is self.height_manager and not self._stopped:
                hm.on_timeout(round_)

    def stop(self) -> None:
        """Nothing more is proposed or signed (the engine closes the sign log next)."""
        self._stopped = True
        self.round_timer.cancel()
        for task in (self._height_task, self._worker):
            if task:
                task.cancel()

    # --- the queue -----------------------------------------------------------------------

    def submit(self, peer: str, data: bytes) -> None:
        """A message from the p2p topic, queued for `handle` (Besu's BftEventQueue): dropped when the
        queue, or this peer's quarter of it, is full."""
        share = max(1, self.limits.message_queue_limit // 4)
        if len(self._queue) >= self.limits.message_queue_limit or self._queued.get(peer, 0) >= share:
            self.refusals.refuse(peer, "consensus message", "the message queue is full")
            return
        self._queue.append((peer, data, True))
        self._queued[peer] = self._queued.get(peer, 0) + 1
        self._wake()

    def _wake(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())
        self._ready.set()

    async def _work(self) -> None:
        while True:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            peer, data, counted = self._queue.popleft()
            if counted:
                left = self._queued.pop(peer) - 1
                if left:
                    self._queued[peer] = left
            try:
                async with self.chain.execution.lock:  # a block being imported by sync is committed first
                    await self.handle(peer, data)
            except Exception:
                log.exception("consensus message from %s failed", peer)
            await asyncio.sleep(0)  # one message at a time: JSON-RPC and p2p get their turns

    # --- messages ------------------------------------------------------------------------

    async def handle(self, peer: str, data: bytes) -> None:
        """One message, in queue order (the caller holds the execution lock)."""
        try:
            msg = m.decode(data, lambda signed: self._admit(signed))
        except Stale:
            return
        except Refused as exc:
            self._refused(peer, exc)
            return
        except m.MalformedMessage as exc:
            self.stats["rejected"] += 1
            self._punish(peer, f"malformed consensus message: {exc}")
            return
        if isinstance(msg, m.NewBlock):
            await self._on_new_block(peer, msg, data)
            return
        height = msg.signed.rid.height
        head = self.chain.head.block_number
        hm = self.height_manager
        if height > head + 1 or (hm is not None and hm.height != height):
            self._buffer(peer, msg, data, head)
        elif hm is None:  # a height we do not validate: signed by one of its validators
            self._relay(msg, data)
        else:
            if isinstance(msg, m.Proposal):
                await self._pre_execute(msg, hm)
            if self._dispatch(peer, hm, msg):
                self._relay(msg, data)

    def _relay(self, msg: Any, data: bytes) -> None:
        self.network.broadcast(TOPIC_QBFT, data, exclude=("0x" + msg.signed.author.hex(),))

    async def _pre_execute(self, p: m.Proposal, hm: HeightManager) -> None:
        """Execute a new proposal from its round's proposer on the execution thread before the
        height manager sees it, which then finds the outcome kept (`executed.py`)."""
        r = p.signed.rid.round
        if (
            hm.committed
            or r < hm.round
            or hm.state(r).proposal is not None
            or p.signed.author != hm.proposer(r)
        ):
            return
        try:
            block = self.decode_block(p.block_rlp)
            await self.pre_execute(block)
        except Exception:  # an invalid proposal is refused (and its failure named) by the height manager
            return

    def _admit(self, signed: m.Signed) -> int:
        """Is the outer author a validator of the message's height, as far as we can tell? The
        answer is how many signed payloads its justification may carry."""
        head = self.chain.head.block_number
        height = signed.rid.height
        if height <= head:
            raise Stale
        validators = self.chain.rules.tracker.validators_for(head + 1)
        if signed.author not in validators:
            who = f"0x{signed.author.hex()} is not a validator"
            if height == head + 1:
                raise Refused("consensus message", f"{who} at height {height}", punish=True)
            raise Refused("future message", f"{who} of our next height #{head + 1}", strike=True)
        distance = self.limits.future_messages_max_distance
        if height > head + distance:
            if self.sync:
                self.sync.trigger(height - 1)
            raise Refused("future message", f"height {height} is more than {distance} above #{head}")
        return 2 * len(validators)

    def _buffer(self, peer: str, msg: Any, data: bytes, head: int) -> None:
        height = msg.signed.rid.height
        authors = len(self.chain.rules.tracker.validators_for(head + 1))
        refused = self.future.add(head, height, msg.signed.author, peer, data, authors)
        if refused is not None:
            self.refusals.refuse(peer, "future message", refused)
        if height > head + 1 and self.sync:
            self.sync.trigger(height - 1)

    def _dispatch(self, peer: str, hm: HeightManager, msg: Any) -> bool:
        """Hand a message of our height to the height manager; True when it was accepted."""
        r = msg.signed.rid.round
        if not isinstance(msg, m.RoundChange) and r > hm.round + self.limits.future_rounds:
            ahead = self.limits.future_rounds
            self.refusals.refuse(peer, "consensus message", f"round {r} is more than {ahead} above ours")
            return False
        try:
            _dispatch(hm, msg)
        except (InvalidMessage, InvalidBlock) as exc:
            self._rejected(peer, msg, exc)
            return False
        return True

    def _refused(self, peer: str, exc: Refused) -> None:
        self.stats["rejected"] += 1
        if exc.strike:
            self._strikes[peer] = strikes = self._strikes.get(peer, 0) + 1
            if strikes > FUTURE_STRIKES:
                self._punish(peer, f"{strikes} future messages from non-validators: {exc}")
                return
        if exc.punish:
            self._punish(peer, str(exc))
        else:
            self.refusals.refuse(peer, exc.kind, str(exc))

    def _punish(self, peer: str, reason: str) -> None:
        self.network.punish(peer, reason)  # logged once per ban by the network

    def _rejected(self, peer: str, msg: Any, exc: Exception) -> None:
        self.stats["rejected"] += 1
        author = "0x" + msg.signed.author.hex()
        text = f"{type(msg).__name__} by {author}: {exc}"
        if getattr(exc, "punish", True) and author == peer.lower():
            self._punish(peer, text)
        else:
            self.refusals.refuse(peer, "consensus message", text)

    async def _on_new_block(self, peer: str, msg: m.NewBlock, data: bytes) -> None:
        head = self.chain.head.block_number
        try:
            number = msg.number
            if number <= head:
                return  # we have it already (the usual case for a validator): skip decoding it
            if number > head + 1:
                if self.sync:
                    self.sync.trigger(number)
                return
            header = self.decode_header(msg.header_rlp)
            self.chain.rules.verify_seals(header)  # a quorum of validators sealed it: only then the body
            block_items(msg.block_rlp)
            block = self.decode_block(msg.block_rlp)
        except Exception as exc:  # whatever the decoders raise on a stranger's bytes, or bad seals
            self.stats["rejected"] += 1
            self._punish(peer, f"invalid announced block: {exc}")
            return
        try:
            await self.import_block(block)
        except (InvalidBlock, InvalidExtraData) as exc:
            self.stats["rejected"] += 1
            self._punish(peer, f"invalid announced block #{number}: {exc}")
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
