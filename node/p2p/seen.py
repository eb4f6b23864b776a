"""Which gossip messages a node has seen, who sent each one, and whether it passed it on.

Shared by every transport (TLS and the in-memory hub), so both keep the same delivery contract:
a message is delivered to the subscribers once, and sent on only when a subscriber relays it
(after checking it), to the peers that have not sent it to us. Marking "seen" and "sent"
separately is what lets a node relay at all: a message seen on arrival is still unsent.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

SEEN_CACHE = 65536  # messages remembered (geth keeps 32768 known transactions per peer)


def message_id(topic: str, payload: bytes) -> bytes:
    """The gossip identity of a message, sha256(topic || 0 || payload); shared by every transport.
    Only ever compared inside one node, so the fastest strong hash (and it lets go of the GIL)."""
    digest = hashlib.sha256(topic.encode() + b"\x00")
    digest.update(payload)
    return digest.digest()


class SeenCache:
    """Bounded record of message ids (oldest forgotten first): the peers that sent each one to
    us and whether we sent it ourselves."""

    def __init__(self, size: int = SEEN_CACHE) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, list] = OrderedDict()  # id -> [sent by us, senders]

    def _entry(self, mid: bytes) -> tuple[list, bool]:
        entry = self._entries.get(mid)
        if entry is not None:
            return entry, False
        entry = self._entries[mid] = [False, ()]
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry, True

    def received(self, mid: bytes, peer: str) -> bool:
        """Record that `peer` sent `mid`; True the first time this node sees it at all."""
        entry, new = self._entry(mid)
        if peer not in entry[1]:
            entry[1] = (*entry[1], peer)
        return new

    def sending(self, mid: bytes) -> bool:
        """Record that this node sends `mid`; False when it already did (send once)."""
        entry, _ = self._entry(mid)
        if entry[0]:
            return False
        entry[0] = True
        return True

    def senders(self, mid: bytes) -> tuple[str, ...]:
        entry = self._entries.get(mid)
        return entry[1] if entry else ()
