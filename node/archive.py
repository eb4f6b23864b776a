"""Chain export and import: concatenated RLP blocks, the format of `besu blocks import` and of
geth's `export` / `import`.

Export writes the committed blocks (commit seals included) exactly as they are stored. Import
reads them one by one, bounded in size, and hands each to the QBFT block importer that sync uses:
the commit seals against the validator set at its height, Besu's header rules, the account
allowlist, then execution; only then is it committed. Block 0 in the file must be our genesis
(it is checked, not imported); blocks the chain already holds must be the ones it holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import rlp

from node.abc import ChainAPI
from node.errors import InvalidBlock, NodeError
from node.storage import Store, number_key

log = logging.getLogger("node.archive")

MAX_BLOCK_BYTES = 32 * 1024 * 1024


class ArchiveError(NodeError):
    """A chain file that cannot be exported or imported (with the block number where it stopped)."""


def stored_head(store: Store) -> int:
    """The number of the datadir's head block."""
    head_hash = store.get("meta", b"head")
    if head_hash is None:
        raise ArchiveError("the datadir holds no chain")
    header = rlp.decode(store.get("headers", head_hash), strict=False)
    return int.from_bytes(header[8], "big")


def export_blocks(store: Store, out: BinaryIO, first: int = 0, last: int | None = None) -> int:
    """Write blocks `first`..`last` (default: the head) as stored; returns how many."""
    head = stored_head(store)
    last = head if last is None else last
    if first < 0 or last < first or last > head:
        raise ArchiveError(f"blocks {first}..{last} are not in this chain (head #{head})")
    for number in range(first, last + 1):
        block_hash = store.get("canon", number_key(number))
        data = store.get("bodies", block_hash) if block_hash else None
        if data is None:
            raise ArchiveError(f"block #{number} is missing from the datadir")
        out.write(data)
    return last - first + 1


def read_blocks(stream: BinaryIO) -> Iterator[bytes]:
    """Each RLP list in a file of concatenated RLP lists, as bytes (bounded by MAX_BLOCK_BYTES)."""
    while first := stream.read(1):
        prefix = first[0]
        if prefix < 0xC0:
            raise ArchiveError("not a file of RLP blocks: an item that is not a list")
        if prefix <= 0xF7:
            header, length = first, prefix - 0xC0
        else:
            size = stream.read(prefix - 0xF7)
            header, length = first + size, int.from_bytes(size, "big")
        if length > MAX_BLOCK_BYTES:
            raise ArchiveError(f"a block of {length} bytes is over the {MAX_BLOCK_BYTES}-byte bound")
        body = stream.read(length)
        if len(body) != length:
            raise ArchiveError("the file ends in the middle of a block")
        yield header + body


def import_blocks(
    chain: ChainAPI,
    blocks: Iterator[bytes],
    importer: Callable[[Any], None],
    decode_block: Callable[[bytes], Any],
) -> int:
    """Import each block through `importer` (the QBFT importer: seals, rules, allowlist, execution)
    and commit it; returns how many were added. Raises ArchiveError naming the block that failed."""
    added = 0
    for data in blocks:
        try:
            block = decode_block(data)
        except Exception as exc:
            raise ArchiveError(f"block {added + 1} in the file does not decode: {exc}") from exc
        number = block.header.block_number
        if number == 0:
            if chain.block_hash(block.header) != chain.block_hash(chain.genesis):
                raise ArchiveError("the file's block 0 is not this chain's genesis")
            continue
        before = chain.head.block_number
        try:
            importer(block)
        except (InvalidBlock, ValueError) as exc:
            raise ArchiveError(f"block #{number} refused: {exc}") from exc
        added += chain.head.block_number - before
        if added and added % 1000 == 0:
            log.info("imported %d blocks, head #%d", added, chain.head.block_number)
    return added
