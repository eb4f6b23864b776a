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

Bounds (docs/nodes.md#limits): the map (LMDB's address-space reservation, not disk) starts at
`map_size` and doubles whenever a block does not fit, so the chain never stops at a height with
MapFullError; the disk is the real limit, and below `min_free` bytes free (geth's
`--datadir.minfreedisk`) the node halts with one clear message rather than fail half-way.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import lmdb
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB

from node.errors import NodeError
from node.files import fsync_dir

log = logging.getLogger("node.storage")

SUBDBS = ("state", "headers", "bodies", "receipts", "canon", "txs", "logs", "reverts", "meta")
MAP_SIZE = 1 << 36  # 64 GiB of address space to start with; the file grows only as data is written
MIN_FREE = 512 << 20  # stop committing below 512 MiB free on the datadir's disk


class DatadirInUse(NodeError):
    pass


class StorageHalted(NodeError):
    """The datadir's disk is (nearly) full, or refuses writes: the node stops, its chain intact."""


_LOCKS: dict[str, object] = {}  # datadir -> open LOCK file held by this process


def lock_datadir(path: Path) -> str:
    """One node process per datadir (as geth): a second writer would race the first for the head.

    An exclusive flock on DATADIR/LOCK; the kernel drops it when the process dies, kill -9
    included. Re-opening in the same process (tests that restart a chain in place) reuses it.
    """
    key = str(path.resolve())
    if key not in _LOCKS:
        created = not (path / "LOCK").exists()
        handle = open(path / "LOCK", "a+")  # noqa: SIM115 (held until unlock_datadir)
        if created:
            fsync_dir(path)
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


def copy_store(source: str | Path, dest: str | Path) -> None:
    """A consistent copy of a datadir's chain, taken while its node may be running (LMDB copies
    from one read transaction; the node's LOCK is neither needed nor taken): a datadir of its own
    for work that must not touch the node's, such as executing its blocks again."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(Path(source) / "chain.lmdb"), readonly=True, max_dbs=len(SUBDBS), lock=True)
    try:
        (dest / "chain.lmdb").mkdir(exist_ok=True)
        env.copy(str(dest / "chain.lmdb"))
    finally:
        env.close()


class _ThreadReader(threading.local):
    txn = None  # a read transaction of this thread's own, while `Store.reading` lasts


class Store:
    """The LMDB environment and a long-lived read transaction renewed after each commit.

    That transaction belongs to the thread that commits (the event loop's); another thread reads
    through one of its own inside `reading()` (an LMDB read transaction is for one thread at a time).
    """

    def __init__(
        self,
        path: str | Path,
        map_size: int = MAP_SIZE,
        min_free: int = MIN_FREE,
        on_full: Callable[[str], None] | None = None,
    ) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self._lock_key = lock_datadir(path)
        self.path = path
        self.min_free = min_free
        self.on_full = on_full
        """Told why, when the disk is full or refuses writes (the node core halts the node)."""
        try:
            self.check_disk()
        except StorageHalted:
            unlock_datadir(self._lock_key)
            raise
        self.env = lmdb.open(str(path / "chain.lmdb"), map_size=map_size, max_dbs=len(SUBDBS), sync=True)
        self.dbs = {name: self.env.open_db(name.encode()) for name in SUBDBS}
        self._read = self.env.begin(buffers=False)
        self._thread = _ThreadReader()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """This thread reads a snapshot of its own (the last committed block) until the block ends."""
        txn = self._thread.txn = self.env.begin(buffers=False)
        try:
            yield
        finally:
            self._thread.txn = None
            txn.abort()

    def _txn(self) -> lmdb.Transaction:
        txn = self._thread.txn
        return self._read if txn is None else txn

    def get(self, db: str, key: bytes) -> bytes | None:
        return self._txn().get(key, db=self.dbs[db])

    def scan(self, db: str, start: bytes, stop: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Keys in [start, stop) of a sub-database, in order."""
        cursor = self._txn().cursor(db=self.dbs[db])
        if not cursor.set_range(start):
            return
        for key, value in cursor:
            if key >= stop:
                break
            yield key, value

    def commit(self, writes: dict[str, dict[bytes, bytes]]) -> None:
        """Apply every write (None deletes) in one LMDB transaction, all or nothing; refresh the reader.

        A block that does not fit the map grows the map and is written again; a disk that is full
        or fails raises StorageHalted (after telling `on_full`), with nothing of the block written."""
        self.check_disk()
        while True:
            try:
                self._write(writes)
                break
            except lmdb.MapFullError:
                self._grow()
            except lmdb.Error as exc:  # ENOSPC and EIO come back as plain lmdb.Error
                self._halt(f"cannot write to {self.path}: {exc}")
        self._read.abort()
        self._read = self.env.begin(buffers=False)

    def _write(self, writes: dict[str, dict[bytes, bytes]]) -> None:
        with self.env.begin(write=True) as txn:
            for db_name, items in writes.items():
                db = self.dbs[db_name]
                for key, value in items.items():
                    if value is None:
                        txn.delete(key, db=db)
                    else:
                        txn.put(key, value, db=db)

    def _grow(self) -> None:
        """Double the map; LMDB allows it only while this process has no transaction open."""
        size = self.env.info()["map_size"] * 2
        self._read.abort()
        self.env.set_mapsize(size)
        self._read = self.env.begin(buffers=False)
        log.info("storage map of %s grown to %d MiB", self.path, size >> 20)

    def check_disk(self) -> None:
        """Raise StorageHalted when the datadir's disk has less than `min_free` bytes free."""
        if self.min_free <= 0:
            return
        free = shutil.disk_usage(self.path).free
        if free < self.min_free:
            self._halt(
                f"only {free >> 20} MiB free on the disk of {self.path} (the node keeps at least "
                f"{self.min_free >> 20} MiB, --storage-min-free-mib): free some space, then start it again"
            )

    def _halt(self, message: str) -> None:
        log.critical("storage: %s; stopping, the chain is intact at its last block", message)
        if self.on_full is not None:
            self.on_full(message)
        raise StorageHalted(message)

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

    def _exists(self, key: bytes) -> bool:  # py-evm's BaseDB answers `key in db` with this
        return key in self.writes or self.store.get("state", key) is not None

    def atomic(self) -> AtomicDB:
        return AtomicDB(self)


def log_index_keys(number: int, logs: Iterable) -> set[bytes]:
    """Log index entries for one block: one per distinct address and per distinct topic."""
    suffix = number_key(number)
    keys = set()
    for log in logs:
        keys.add(b"a" + log.address + suffix)
        for topic in log.topics:
            keys.add(b"t" + topic.to_bytes(32, "big") + suffix)
    return keys
