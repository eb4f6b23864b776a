"""A read-only view of the chain through one LMDB read transaction, for one thread.

LMDB readers see a consistent snapshot without locks, in this process or another one (the call
worker process), and py-lmdb opens every environment with MDB_NOTLS, so a read transaction may
live on any thread as long as only one uses it. The worker
thread keeps one `Snapshot` with its own header cache (the chain's caches belong to the loop
thread) and renews it when the head moves; state nodes are content-addressed and never deleted,
so a newer snapshot still holds every older state.
"""

from __future__ import annotations

from typing import Any

import lmdb
import rlp
from eth.abc import BlockHeaderAPI
from eth.exceptions import HeaderNotFound

from node.recent import Recent
from node.storage import StateOverlay
from node.vm import HeaderClass

HEADERS = 512


class ChainDBView:
    """The slice of py-evm's ChainDatabaseAPI a VM touches: state through `overlay`, headers from
    `headers` (the chain on the loop thread, or a snapshot on the worker)."""

    def __init__(self, headers: Any, overlay: StateOverlay) -> None:
        self._headers = headers
        self.db = overlay.atomic()

    def get_block_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        header = self._headers.get_header_by_hash(block_hash)
        if header is None:
            raise HeaderNotFound(block_hash.hex())
        return header

    def persist_trie_data_dict(self, trie_data_dict: dict) -> None:
        """Transaction and receipt tries are not stored: blocks and receipts are stored whole."""

    def exists(self, key: bytes) -> bool:
        return self.db.exists(key)


def decode_header(data: bytes, block_hash: bytes) -> BlockHeaderAPI:
    """A stored header, with its identity (the key it is stored under) cached as `header.hash`."""
    header = rlp.decode(data, sedes=HeaderClass)
    header._hash = block_hash
    return header


class Snapshot:
    """`get(db, key)` and `get_header_by_hash`, the two reads a VM over an overlay makes."""

    def __init__(self, store, head_hash: bytes) -> None:
        self.head_hash = head_hash
        self._dbs = store.dbs
        try:
            self._txn = store.env.begin(buffers=False)
        except lmdb.MapResizedError:  # a worker process's map, after the node grew its own
            store.env.set_mapsize(0)  # adopt the size the node set
            self._txn = store.env.begin(buffers=False)
        self._headers = Recent(HEADERS)

    def get(self, db: str, key: bytes) -> bytes | None:
        return self._txn.get(key, db=self._dbs[db])

    def get_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI | None:
        header = self._headers.get(block_hash)
        if header is None:
            data = self.get("headers", block_hash)
            if data is None:
                return None
            header = self._headers.put(block_hash, decode_header(data, block_hash))
        return header

    def get_header_by_number(self, number: int) -> BlockHeaderAPI | None:
        block_hash = self.get("canon", number.to_bytes(8, "big")) if number >= 0 else None
        return None if block_hash is None else self.get_header_by_hash(block_hash)

    def close(self) -> None:
        self._txn.abort()
