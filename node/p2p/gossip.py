"""Gossip as every transport does it: deliver each message once, relay only what a handler passes on.

A node hands a received message to its subscribers and sends nothing by itself; a subscriber that
has checked the message (a QBFT message whose author is a validator, a transaction the pool took,
evidence the store filed) calls `broadcast` with it, and only then does it go on, to every peer
but those that sent it to us (and any the caller excludes, such as its author). So a partial mesh
still delivers everything, and junk stops at the first honest node.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from node.p2p.abc import GossipHandler
from node.p2p.seen import SeenCache, message_id

log = logging.getLogger("node.p2p")


class Gossip:
    def __init__(self) -> None:
        self.seen = SeenCache()
        self._handlers: dict[str, list[GossipHandler]] = {}

    def subscribe(self, topic: str, handler: GossipHandler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    async def deliver(self, peer: str, topic: str, payload: bytes) -> None:
        """A message from `peer`: to every subscriber of its topic, the first time only."""
        if not self.seen.received(message_id(topic, payload), peer):
            return
        for handler in self._handlers.get(topic, []):
            try:
                await handler(peer, payload)
            except Exception:
                log.exception("handler for %s failed on a message from %s", topic, peer)

    def recipients(
        self, topic: str, payload: bytes, peers: Iterable[str], exclude: Iterable[str] = ()
    ) -> list[str]:
        """Whom to send a broadcast to: nobody if this node sent it already; else every peer that
        has not sent it to us and is not excluded."""
        mid = message_id(topic, payload)
        if not self.seen.sending(mid):
            return []
        skip = {*self.seen.senders(mid), *(p.lower() for p in exclude)}
        return [p for p in peers if p not in skip]
