"""Raw RLP: split a message into the encodings of its items without decoding what is inside them.

pyrlp builds every nested item of whatever it is given, and takes seconds on a megabyte of empty
lists; a consensus message is split here instead, item by item, each length prefix checked
canonical (so an item's bytes are exactly what its signer hashed), and only small items are
decoded. `block_items` counts a block's items, stopping at a limit, before py-evm decodes it.
"""

from __future__ import annotations

from typing import Any

import rlp
from rlp.codec import consume_length_prefix, length_prefix

MAX_BLOCK_ITEMS = 65536  # RLP items in a block: a 30M-gas block of minimal transactions has ~15,000
EMPTY_LIST = b"\xc0"


class MalformedMessage(ValueError):
    """Bytes that are not a well-formed, correctly signed QBFT message."""


# --- raw RLP: split without decoding what is inside -------------------------------------------


def _split(raw: bytes, at: int = 0) -> tuple[bool, int, int]:
    """(is a list, payload start, end) of the canonical RLP item at `at`."""
    try:
        _, kind, length, start = consume_length_prefix(raw, at)
    except (rlp.DecodingError, IndexError) as exc:
        raise MalformedMessage(f"not RLP: {exc}") from None
    if start + length > len(raw):
        raise MalformedMessage("truncated RLP")
    return kind is list, start, start + length


def items(raw: bytes) -> list[bytes]:
    """The raw encodings of the items of the RLP list `raw` (each checked canonical, none decoded)."""
    is_list, pos, end = _split(raw)
    if not is_list or end != len(raw):
        raise MalformedMessage("expected one RLP list")
    out = []
    while pos < end:
        _, _, item_end = _split(raw, pos)
        out.append(raw[pos:item_end])
        pos = item_end
    return out


def scalar(raw: bytes) -> bytes:
    is_list, start, end = _split(raw)
    if is_list or end != len(raw):
        raise MalformedMessage("expected an RLP string")
    return raw[start:end] if raw[0] >= 0x80 else raw


def small(raw: bytes) -> Any:
    try:
        return rlp.decode(raw)
    except Exception as exc:
        raise MalformedMessage(f"not RLP: {exc}") from None


def list_rlp(*encoded: bytes) -> bytes:
    body = b"".join(encoded)
    return length_prefix(len(body), 0xC0) + body


def _walk(raw: bytes, limit: int, count: int = 0) -> int:
    """`count` plus the items of the RLP sequence `raw`, nested ones too; MalformedMessage past `limit`."""
    stack = [(0, len(raw))]
    while stack:
        pos, end = stack.pop()
        while pos < end:
            is_list, start, item_end = _split(raw, pos)
            count += 1
            if count > limit:
                raise MalformedMessage(f"more than {limit} RLP items")
            if is_list:
                stack.append((start, item_end))
            pos = item_end
    return count


def block_items(block_rlp: bytes, limit: int = MAX_BLOCK_ITEMS) -> int:
    """Count the RLP items of a block, typed transactions' insides included, refusing past `limit`
    (py-evm's decoder takes seconds on a megabyte of empty lists; counting takes milliseconds)."""
    parts = items(block_rlp)
    count = _walk(block_rlp, limit)
    for tx in items(parts[1]) if len(parts) > 1 else ():
        body = scalar(tx) if tx[:1] < EMPTY_LIST else b""
        if body[:1] and body[0] < 0x80:  # a typed transaction: type byte || RLP
            count = _walk(body[1:], limit, count)
    return count
