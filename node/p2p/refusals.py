"""Refusals logged once per peer: the first of each kind at warning, the rest only counted.

A flood of junk from one peer (or one address) must not become a flood of log lines: each
(peer, kind) is logged when first seen, and again at most once per `window` seconds with the
number refused meanwhile. Bounded: the oldest keys are forgotten past `size`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict


class Refusals:
    def __init__(self, logger: logging.Logger, window: float = 300.0, size: int = 4096) -> None:
        self.log = logger
        self.window = window
        self.size = size
        self.total = 0
        self._seen: OrderedDict[tuple[str, str], list] = OrderedDict()  # -> [logged at, count since]

    def refuse(self, peer: str, kind: str, message: str) -> bool:
        """Count one refusal; log it if it is this (peer, kind)'s first in the window. True if logged."""
        self.total += 1
        key = (peer, kind)
        now = time.monotonic()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.window:
            entry[1] += 1
            return False
        repeats = entry[1] if entry else 0
        self._seen[key] = [now, 0]
        self._seen.move_to_end(key)
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        more = f" ({repeats} more refused since the last report)" if repeats else ""
        self.log.warning("refused %s from %s: %s%s", kind, peer, message, more)
        return True
