"""Messages for heights we have not reached (Besu's FutureMessageBuffer), with a share per author.

Besu bounds the buffer in heights ahead (`futureMessagesMaxDistance`) and in count
(`futureMessagesLimit`, evicting the highest height first). One global cap alone lets whoever
sends most crowd out everyone else, so each author (a validator of our next height: the
controller refuses anyone else before a message gets here) may hold at most an equal share of the
count and of the bytes; a flood from one validator fills only its own share.
"""

from __future__ import annotations

from node.qbft.limits import QbftLimits


class FutureMessages:
    def __init__(self, limits: QbftLimits = QbftLimits()) -> None:
        self.limit = limits.future_messages_limit
        self.distance = limits.future_messages_max_distance
        self.max_bytes = limits.future_messages_bytes
        self._by_height: dict[int, list[tuple[str, bytes, bytes]]] = {}  # (peer, author, data)
        self._count: dict[bytes, int] = {}
        self._bytes: dict[bytes, int] = {}
        self.count = self.bytes = 0

    def add(self, head: int, height: int, author: bytes, peer: str, data: bytes, authors: int) -> str | None:
        """Keep `data` (signed by `author`, one of `authors` validators) until we reach `height`;
        None when kept, else why not."""
        if height > head + self.distance:
            return f"height {height} is more than {self.distance} above our head #{head}"
        share, share_bytes = max(1, self.limit // authors), self.max_bytes // authors
        if self._count.get(author, 0) >= share or self._bytes.get(author, 0) + len(data) > share_bytes:
            return (
                f"0x{author.hex()} has its share of the future buffer ({share} messages, {share_bytes} bytes)"
            )
        while self.count >= self.limit or self.bytes + len(data) > self.max_bytes:
            top = max(self._by_height, default=height)
            if top <= height:
                return "the future buffer is full"
            self._forget(self._by_height[top].pop(), top)  # Besu evicts the highest height first
        self._by_height.setdefault(height, []).append((peer, author, data))
        self._count[author] = self._count.get(author, 0) + 1
        self._bytes[author] = self._bytes.get(author, 0) + len(data)
        self.count += 1
        self.bytes += len(data)
        return None

    def _forget(self, entry: tuple[str, bytes, bytes], height: int) -> None:
        _, author, data = entry
        self._count[author] -= 1
        self._bytes[author] -= len(data)
        if not self._count[author]:
            del self._count[author], self._bytes[author]
        self.count -= 1
        self.bytes -= len(data)
        if not self._by_height.get(height, True):
            del self._by_height[height]

    def take(self, height: int) -> list[tuple[str, bytes]]:
        """(peer, data) of the messages for `height`, forgetting those for heights below it."""
        taken = []
        for h in sorted(h for h in self._by_height if h <= height):
            entries = self._by_height.pop(h)
            for entry in entries:
                self._forget(entry, h)
            if h == height:
                taken = [(peer, data) for peer, _, data in entries]
        return taken
