"""Bounded least-recently-used caches for immutable chain data."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class Recent:
    """A small least-recently-used map (an OrderedDict; lru_cache on a method would pin its object).

    Used for things that never change under their key (blocks, headers and receipts by hash,
    validator snapshots by committed height), so entries need no invalidation. Locked: the
    execution thread (node/offloop.py) shares the chain's caches with the event loop.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> Any:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self.size:
                self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
