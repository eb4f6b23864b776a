"""The wire: frames, their kinds and the topic prefix, read with a size cap the caller chooses.

Every frame is `u32 length || body`, `body = version(1) || kind(1) || data`. Before AUTH succeeds
a connection may only carry the handshake's own frames, so the reader is capped at the largest of
them (`HANDSHAKE_FRAME`, 67 bytes) rather than `MAX_FRAME`: a stranger holding a pinned
certificate cannot make a node buffer megabytes before it has proven who it is.
"""

from __future__ import annotations

import asyncio
import struct

VERSION = 1
MAX_FRAME = 16 * 1024 * 1024  # after AUTH: a QBFT proposal (8 MiB) or a page of evidence fits
HELLO_DATA = 8 + 20 + 32  # chain id, node address, nonce
AUTH_DATA = 65  # recoverable signature
HANDSHAKE_FRAME = 2 + max(HELLO_DATA, AUTH_DATA)
READ_BUFFER = 64 * 1024  # StreamReader limit: what a socket may have buffered before reads pause

HELLO, AUTH, GOSSIP, REQUEST, RESPONSE, PING, PONG = range(7)
OK, ERROR = 0, 1


class ProtocolError(Exception):
    """The peer broke the wire protocol; its connection is closed."""


def frame(kind: int, data: bytes) -> bytes:
    body = bytes((VERSION, kind)) + data
    return struct.pack(">I", len(body)) + body


async def read_frame(reader: asyncio.StreamReader, limit: int = MAX_FRAME) -> tuple[int, bytes]:
    """(kind, data) of the next frame; a length over `limit` is refused before its body is read."""
    head = await reader.readexactly(4)
    (length,) = struct.unpack(">I", head)
    if length < 2 or length > limit:
        raise ProtocolError(f"frame length {length} (at most {limit} here)")
    body = await reader.readexactly(length)
    if body[0] != VERSION:
        raise ProtocolError(f"wire version {body[0]}")
    return body[1], body[2:]


def topic_split(data: bytes) -> tuple[str, bytes]:
    if not data:
        raise ProtocolError("empty message")
    n = data[0]
    if len(data) < 1 + n:
        raise ProtocolError("truncated topic")
    try:
        topic = data[1 : 1 + n].decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("topic not ascii") from exc
    return topic, data[1 + n :]


def topic_join(topic: str, payload: bytes) -> bytes:
    raw = topic.encode("ascii")
    if len(raw) > 255:
        raise ValueError("topic too long")
    return bytes((len(raw),)) + raw + payload
