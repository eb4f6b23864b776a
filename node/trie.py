"""Root of an ordered Merkle-Patricia trie (transactions, receipts) built in one pass.

py-evm builds these roots by inserting into a HexaryTrie node by node, with a database mapping
per node; for a block of a thousand transactions that costs more than executing them. The keys
here are rlp(index), known and sorted up front, so the trie can be built bottom-up directly
(as geth's StackTrie does). The root is identical to py-evm's (tests/node/test_trie.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import rlp
from eth_hash.auto import keccak

BLANK_ROOT = keccak(rlp.encode(b""))


def _nibbles(key: bytes) -> tuple[int, ...]:
    out = []
    for byte in key:
        out.append(byte >> 4)
        out.append(byte & 0x0F)
    return tuple(out)


def _hex_prefix(nibbles: Sequence[int], leaf: bool) -> bytes:
    flag = 2 if leaf else 0
    nibbles = (flag + 1, *nibbles) if len(nibbles) % 2 else (flag, 0, *nibbles)
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(nibbles), 2))


def _ref(node: list) -> list | bytes:
    encoded = rlp.encode(node)
    return node if len(encoded) < 32 else keccak(encoded)


def _build(items: list[tuple[tuple[int, ...], bytes]], depth: int) -> list:
    if len(items) == 1:
        key, value = items[0]
        return [_hex_prefix(key[depth:], True), value]
    first, last = items[0][0], items[-1][0]  # sorted: the common prefix of all is theirs
    shared = 0
    limit = min(len(first), len(last)) - depth
    while shared < limit and first[depth + shared] == last[depth + shared]:
        shared += 1
    if shared:
        return [_hex_prefix(first[depth : depth + shared], False), _ref(_build(items, depth + shared))]
    branch: list = [b""] * 17
    start = 0
    while start < len(items):
        nibble = items[start][0][depth]
        end = start
        while end < len(items) and items[end][0][depth] == nibble:
            end += 1
        branch[nibble] = _ref(_build(items[start:end], depth + 1))
        start = end
    return branch


def ordered_trie_root(values: Sequence[bytes]) -> bytes:
    """Root of the trie {rlp(i): values[i]}: Ethereum's transactionsRoot / receiptsRoot."""
    if not values:
        return BLANK_ROOT
    items = sorted((_nibbles(rlp.encode(i)), value) for i, value in enumerate(values))
    return keccak(rlp.encode(_build(items, 0)))
