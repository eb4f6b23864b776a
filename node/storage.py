"""Durable storage on LMDB: one write transaction per committed block.

Why LMDB: a copy-on-write B+tree with a single writer; a committed write transaction is durable
(fsync) and a crash at any moment leaves the previous committed tree intact, so "block, state,
receipts, indexes and head move together" is exactly one `txn.commit()`. Readers never block.

Sub-databases (keys are raw bytes):
  state    trie node hash / code hash -> node / code (py-evm's state, shared by all blocks)
  headers  block hash -> header RLP          bodies   block hash -> block RLP
  receipts block hash -> RLP list of encoded receipts
  canon    block number (8 bytes BE) -> block hash
  txs      tx hash -> block hash + number (8) + index (4)
  logs     b"a" + address + number  |  b"t" + topic + number  -> b"" (which blocks to look at)
  meta     b"head" -> block hash
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator
from pathlib import Path

import lmdb
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB

from node.errors import NodeError

SUBDBS = ("state", "headers", "bodies", "receipts", "canon", "txs", "logs", "reverts", "meta")
MAP_SIZE = 1 << 36  # 64 GiB of address space; the file grows only as data is written


class DatadirInUse(NodeError):
    pass


_LOCKS: dict[str, object] = {}  # datadir -> open LOCK file held by this process


def lock_datadir(path: Path) -> str:
    """One node process per datadir (as geth): a second writer would race the first for the head.

    An exclusive flock on DATADIR/LOCK; the kernel drops it when the process dies, kill -9
    included. Re-opening in the same process (tests that restart a chain in place) reuses it.
    """
    key = str(path.resolve())
    if key not in _LOCKS:
        handle = open(path / "LOCK", "a+")  # noqa: SIM115 (held until unlock_datadir)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DatadirInUse(f"datadir {path} is in use by another node process") from None
        _LOCKS[key] = handle
    return key


def unlock_datadir(key: str) -> None:
    handle = _LOCKS.pop(key, None)
    if handle is not None:
        handle.close()


def number_key(number: int) -> bytes:
    return number.to_bytes(8, "big")


class Store:
    """The LMDB environment and a long-lived read transaction renewed after each commit."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self._lock_key = lock_datadir(path)
        self.env = lmdb.open(str(path / "chain.lmdb"), map_size=MAP_SIZE, max_dbs=len(SUBDBS), sync=True)
        self.dbs = {name: self.env.open_db(name.encode()) for name in SUBDBS}
        self._read = self.env.begin(buffers=False)

    def get(self, db: str, key: bytes) -> bytes | None:
        return self._read.get(key, db=self.dbs[db])

    def scan(self, db: str, start: bytes, stop: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, stop) of a sub-database, in order."""
        cursor = self._read.cursor(db=self.dbs[db])
        if not cursor.set_range(start):
            return
        for key, value in cursor:
            if key >= stop:
                break
            yield key, value

    def commit(self, writes: dict[str, dict[bytes, bytes]]) -> None:
        """Apply every write (None deletes) in one LMDB transaction, all or nothing; refresh the reader."""
        with self.env.begin(write=True) as txn:
            for db_name, items in writes.items():
                db = self.dbs[db_name]
                for key, value in items.items():
                    if value is None:
                        txn.delete(key, db=db)
                    else:
                        txn.put(key, value, db=db)
        self._read.abort()
        self._read = self.env.begin(buffers=False)

    def close(self) -> None:
        self._read.abort()
        self.env.close()
        unlock_datadir(self._lock_key)


class StateOverlay(BaseDB):
    """py-evm's view of the state database: reads fall through to LMDB, writes stay in memory.

    Executing a block writes trie nodes here; `Store.commit` later persists them with the block.
    Deletes are ignored: historic states share nodes, so nothing is ever removed.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self.writes.get(key)
        if value is None:
            value = self.store.get("state", key)
            if value is None:
                raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def __delitem__(self, key: bytes) -> None:
        self.writes.pop(key, None)

    def _exists(self, key: bytes) -> bool:
        return key in self.writes or self.store.get("state", key) is not None

    def atomic(self) -> AtomicDB:
        return AtomicDB(self)


def merge_writes(*parts: dict[str, dict[bytes, bytes]]) -> dict[str, dict[bytes, bytes]]:
    merged: dict[str, dict[bytes, bytes]] = {}
    for part in parts:
        for db, items in part.items():
            merged.setdefault(db, {}).update(items)
    return merged


def log_index_keys(number: int, logs: Iterable) -> set[bytes]:
    """Log index entries for one block: one per distinct address and per distinct topic."""
    suffix = number_key(number)
    keys = set()
    for log in logs:
        keys.add(b"a" + log.address + suffix)
        for topic in log.topics:
            keys.add(b"t" + topic.to_bytes(32, "big") + suffix)
    return keys
