"""The attacks of issue 16, one piece each, for the tests in tests/hostile/ (each runs one against
real node processes and asserts its bound) and for scripts/soak_hostile.py (which repeats every one
of them at once while `hubao simulate` runs). This is the one place their code lives.

    Drip(port, "127.0.0.9", b"POST / HTTP/1.1\\r\\n...")   # a slow client: a byte every 2 s
    batch(url, "eth_newBlockFilter", [[]] * 600)           # one HTTP batch of JSON-RPC calls
    subscriber(ws_url, 10, 20, counts, ready)              # WebSockets full of log subscriptions
    raw(key, nonce, data=b"\\x01" * 2_500_000)              # a signed transaction, any shape
    LOOP                                                    # init code no gas cap lets finish
    idle_connections / oversized_hello / silent_after_tls  # strangers before p2p authentication
    junk_prepares / validator_proposals                    # QBFT junk and future floods
    Uploader, corrupted, without_readers, gossip_junk      # evidence abuse
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import threading
import time
import urllib.request
from pathlib import Path

import rlp
from eth_account import Account
from websockets.sync.client import connect

from consortium.evidence.envelope import Envelope
from consortium.evidence.service import TOPIC_EVIDENCE
from consortium.evidence.upload import Upload
from consortium.network.config import load_config
from harness.processes import DEV_ADDRESSES
from node.qbft import messages as m
from node.qbft.keys import Signer

GWEI = 10**9

# -- HTTP: slow clients --------------------------------------------------------------------------

SLOW_HEADERS = b"POST / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
SLOW_BODY = (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             b"Content-Length: 1000\r\n\r\n{")  # fmt: skip


class Drip(threading.Thread):
    """One slow client from `source`: sends `head`, then one more byte every `drip` seconds, until
    the node closes the connection (or `stop` is set); `held` is how long it stayed open, `answer`
    what it got."""

    def __init__(
        self, port: int, source: str, head: bytes, drip: float = 2.0, stop: threading.Event | None = None
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.source, self.head, self.drip = port, source, head, drip
        self.stop = stop or threading.Event()
        self.held: float | None = None
        self.answer = b""

    def run(self) -> None:
        with socket.create_connection(
            ("127.0.0.1", self.port), timeout=self.drip, source_address=(self.source, 0)
        ) as s:
            opened = time.monotonic()
            s.sendall(self.head)
            while time.monotonic() - opened < 60 and not self.stop.is_set():
                try:
                    data = s.recv(4096)
                    if not data:
                        break
                    self.answer += data
                except TimeoutError:
                    try:
                        s.sendall(b"a")
                    except OSError:
                        break
                except OSError:
                    break
            self.held = time.monotonic() - opened


def drips(port: int, head: bytes, sources: list[str], drip: float = 2.0) -> list[Drip]:
    """One Drip per source at once; returns them once the node has closed every one."""
    attackers = [Drip(port, source, head, drip) for source in sources]
    for attacker in attackers:
        attacker.start()
    for attacker in attackers:
        attacker.join(70)
    return attackers


# -- JSON-RPC batches, filters and subscriptions -------------------------------------------------


def batch(url: str, method: str, params: list[list], timeout: float = 30) -> list[dict]:
    """One HTTP request holding a JSON-RPC call of `method` per entry of `params`."""
    body = [{"jsonrpc": "2.0", "id": i, "method": method, "params": p} for i, p in enumerate(params)]
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def call(ws, method: str, *params, req_id: int = 1) -> dict:
    """One JSON-RPC call over a WebSocket: its answer (notifications in between are skipped)."""
    ws.send(json.dumps({"jsonrpc": "2.0", "id": req_id, "method": method, "params": list(params)}))
    while True:
        msg = json.loads(ws.recv(timeout=30))
        if msg.get("id") == req_id:
            return msg


def subscriber(ws_url: str, connections: int, per_connection: int, counts, ready) -> None:
    """The attacker, in its own process (its reading must not slow an honest client's thread):
    `connections` WebSockets, each asking for `per_connection` subscriptions to every log, all
    read. `counts` are shared integers: [0] notifications received, [1] subscriptions made,
    [2] refused."""

    def drain(ws) -> None:
        with contextlib.suppress(Exception):
            while ws.recv(timeout=120):
                with counts.get_lock():
                    counts[0] += 1

    sockets = [connect(ws_url, max_size=None, compression=None) for _ in range(connections)]
    for ws in sockets:
        for i in range(per_connection):
            answer = call(ws, "eth_subscribe", "logs", {}, req_id=i + 1)
            with counts.get_lock():
                counts[1 if "result" in answer else 2] += 1
    readers = [threading.Thread(target=drain, args=(ws,)) for ws in sockets]
    for reader in readers:
        reader.start()
    ready.set()
    for reader in readers:
        reader.join()


# -- transactions and calls ----------------------------------------------------------------------

# Init code run by a create-call (no deployment needed): count down from 2^23, ~40 gas a turn,
# far more work than any gas cap lets finish.
LOOP = "0x62" + (1 << 23).to_bytes(3, "big").hex() + "5b8015601157600190036004565b00"


def raw(
    key: str, nonce: int, tip: int = GWEI, data: bytes = b"", value: int = 1, fee: int = 20 * GWEI,
    to: str = DEV_ADDRESSES[0], chain_id: int = 1337, gas: int | None = None,
) -> str:  # fmt: skip
    """A signed type-2 transaction (hex); its gas, unless given, just covers a transfer with `data`."""
    fields = {
        "type": 2, "chainId": chain_id, "nonce": nonce, "to": to, "value": value, "data": data,
        "gas": gas or 21_000 + 16 * len(data) + 40 * len(data), "maxFeePerGas": fee,
        "maxPriorityFeePerGas": tip,
    }  # fmt: skip
    return Account.sign_transaction(fields, key).raw_transaction.to_0x_hex()


# -- p2p before authentication -------------------------------------------------------------------


def tls_context(root: Path, name: str) -> ssl.SSLContext:
    """A client context with node `name`'s pinned certificate: it passes TLS, nothing more."""
    config = load_config(root / name / "node.toml")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_cert_chain(config.tls_cert, config.tls_key, password=config.password())
    ctx.load_verify_locations(cadata="".join(config.trusted.values()))
    return ctx


def idle_connections(target: tuple[str, int], source: str, count: int) -> list[socket.socket]:
    return [socket.create_connection(target, timeout=5, source_address=(source, 0)) for _ in range(count)]


def still_open(sockets: list[socket.socket]) -> int:
    """How many the node has not closed (a closed one reads EOF or a reset at once)."""
    alive = 0
    for s in sockets:
        s.setblocking(False)
        try:
            alive += s.recv(1) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    return alive


def oversized_hello(
    target: tuple[str, int], ctx: ssl.SSLContext, source: str = "127.0.0.3"
) -> tuple[int, float]:
    """TLS with a pinned certificate, then a frame header announcing 16 MiB and data streaming in:
    (bytes the node sent back, seconds until it closed)."""
    raw_socket = socket.create_connection(target, timeout=5, source_address=(source, 0))
    with raw_socket, ctx.wrap_socket(raw_socket) as tls:
        started = time.monotonic()
        received = b""
        try:
            tls.sendall((16 * 1024 * 1024 - 8).to_bytes(4, "big") + b"\x01\x00")
            for _ in range(256):
                tls.sendall(b"\x00" * 65536)
        except OSError:
            pass
        try:
            while chunk := tls.recv(4096):
                received += chunk
        except OSError:
            pass
        return len(received), time.monotonic() - started


def silent_after_tls(target: tuple[str, int], ctx: ssl.SSLContext, source: str = "127.0.0.4") -> float:
    """Seconds from connecting until the node closes a TLS link that never says HELLO."""
    started = time.monotonic()
    raw_socket = socket.create_connection(target, timeout=15, source_address=(source, 0))
    with raw_socket, ctx.wrap_socket(raw_socket) as tls:
        try:
            while tls.recv(4096):
                pass
        except OSError:
            pass
    return time.monotonic() - started


# -- QBFT junk -----------------------------------------------------------------------------------


async def linked(peer, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not peer.peers():
        assert time.monotonic() < deadline, "the attacker never got a link"
        await asyncio.sleep(0.05)


async def dropped(peer, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while peer.peers():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def junk_prepares(height: int, count: int) -> list[bytes]:
    """PREPAREs for `height`, each signed by a fresh random key (no validator's)."""
    return [m.encode(m.Prepare.create(m.RoundId(height, 0), os.urandom(32), Signer(os.urandom(32))))
            for _ in range(count)]  # fmt: skip


def validator_proposals(signer: Signer, head: int, count: int, size: int) -> list[bytes]:
    """Block-sized proposals for heights a few above the next one, signed by a real validator."""
    heights, block = range(head + 4, head + 8), rlp.encode([os.urandom(size)])
    return [m.encode(m.Proposal.create(m.RoundId(heights[i % 4], i), block, signer)) for i in range(count)]


# -- evidence ------------------------------------------------------------------------------------


class Uploader:
    """An allowlisted account of accounts.json that signs evidence uploads."""

    def __init__(self, user: dict, chain_id: int) -> None:
        self.key, self.address = bytes.fromhex(user["privateKey"][2:]), user["address"]
        self.chain_id = chain_id

    def upload(self, root: bytes, envelope: bytes) -> dict:
        return Upload.sign(self.key, self.chain_id, root, envelope).to_json()


def without_readers(envelope: bytes) -> bytes:
    """The same envelope naming no reader at all (`readers: {}`): nobody could ever open it."""
    body = json.loads(envelope)
    body["readers"] = {}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def corrupted(envelope: bytes) -> bytes:
    """The same envelope with the reader's wrapped key replaced: well-formed, undecryptable."""
    e = Envelope.from_bytes(envelope)
    entry = {
        "ephemeral": os.urandom(64).hex(),
        "nonce": os.urandom(12).hex(),
        "wrapped": os.urandom(48).hex(),
    }
    readers = {address: entry for address in e.readers}
    return Envelope(readers, os.urandom(12), os.urandom(64), e.leaves).to_bytes()


async def gossip_junk(peer, upload: dict) -> bool:
    """`peer` (an attacker's network, not started) gossips one junk upload: was it dropped for it?"""
    await peer.start()
    try:
        await linked(peer, timeout=15)
        peer.broadcast(TOPIC_EVIDENCE, json.dumps(upload, sort_keys=True).encode())
        return await dropped(peer, timeout=5)
    finally:
        await peer.stop()
