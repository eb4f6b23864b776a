"""What this validator signed, and its lock, written to disk (fsync) BEFORE a message leaves.

A validator must never sign two different blocks for one (height, round), not even across a
crash and restart; so every proposal, prepare and commit first goes through `guard`, which refuses
a second, different digest for the same (height, round, kind) and persists a new one.
"""

from __future__ import annotations

import json
import os
import threading

from node.files import atomic_write, fsync_dir


class Equivocation(RuntimeError):
    """Signing this would contradict something already signed."""


class SignLog:
    def __init__(self, path: str, keep_heights: int = 64) -> None:
        self.path = path
        self._keep = keep_heights
        self._entries: dict[tuple[int, int, str], str] = {}
        self._lock = threading.Lock()
        self._lines = 0
        if os.path.exists(path):
            good = 0
            with open(path, "rb") as fh:
                for line in fh:
                    try:
                        e = json.loads(line)
                        self._entries[(int(e["h"]), int(e["r"]), str(e["k"]))] = str(e["d"])
                    except (ValueError, KeyError, TypeError):
                        break  # a torn last line from a crash mid-write: everything before it stands
                    if not line.endswith(b"\n"):
                        break
                    good += len(line)
                    self._lines += 1
            if good != os.path.getsize(path):
                with open(path, "r+b") as fh:
                    fh.truncate(good)
        created = not os.path.exists(path)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for appends)
        if created:  # the new file's name must survive a crash too
            fsync_dir(os.path.dirname(os.path.abspath(path)))

    def guard(self, height: int, round_: int, kind: str, digest: bytes) -> None:
        """Allow signing `digest`, recording it durably; raise Equivocation if it contradicts."""
        key = (height, round_, kind)
        value = digest.hex()
        with self._lock:
            known = self._entries.get(key)
            if known == value:
                return
            if known is not None:
                raise Equivocation(f"already signed a different {kind} at height {height} round {round_}")
            self._entries[key] = value
            self._fh.write(json.dumps({"h": height, "r": round_, "k": kind, "d": value}) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._lines += 1

    def highest_round(self, height: int) -> int | None:
        rounds = [r for (h, r, _) in self._entries if h == height]
        return max(rounds) if rounds else None

    def prune(self, below_height: int) -> None:
        """Forget heights that are final (rewrite the file atomically when it has grown)."""
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if k[0] >= below_height - self._keep}
            if self._lines < 4 * len(self._entries) + 256:
                return
            lines = (
                json.dumps({"h": h, "r": r, "k": k, "d": d}) + "\n"
                for (h, r, k), d in sorted(self._entries.items())
            )
            atomic_write(self.path, "".join(lines))
            self._fh.close()
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            self._lines = len(self._entries)

    def close(self) -> None:
        self._fh.close()
