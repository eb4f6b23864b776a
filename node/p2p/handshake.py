"""Authenticating a TLS link: HELLO and AUTH, and the bounds on handshakes still in progress.

After TLS (both sides present one of the consortium's pinned node certificates; there is no CA)
each side sends HELLO (chain id, node address, fresh nonce) and then AUTH (its node key's
signature binding both certificates and the other side's nonce, see `identity`). A side sends
AUTH only after admitting the node its peer's HELLO claims (the certificate pinned for that
address, allowlist, bans, peer count), so no node ever counts a link that the other end refuses.
Until AUTH is verified a frame may be no longer than the handshake's own (`HANDSHAKE_FRAME`).
"""

from __future__ import annotations

import os
import ssl
import struct
from collections.abc import Callable, Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from node.p2p.config import P2PConfig
from node.p2p.framing import (
    AUTH,
    AUTH_DATA,
    HANDSHAKE_FRAME,
    HELLO,
    HELLO_DATA,
    ProtocolError,
    frame,
    read_frame,
)
from node.p2p.identity import cert_fingerprint, recover_auth, sign_auth


def der(pem: str) -> bytes:
    return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)


def pins(trusted: Mapping[str, str]) -> dict[str, bytes]:
    """Node address -> sha256 of the DER certificate pinned for it."""
    return {address.lower(): cert_fingerprint(der(pem)) for address, pem in trusted.items()}


def tls_contexts(config: P2PConfig) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """TLS 1.3 both ways; the only trust anchors are the pinned (self-signed) node certificates,
    so a certificate nobody pinned fails the TLS handshake itself."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ctx in (server, client):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(str(config.cert), str(config.key), password=config.key_password)
        if config.trusted:
            ctx.load_verify_locations(cadata="".join(config.trusted.values()))
        ctx.verify_mode = ssl.CERT_REQUIRED
    # Nodes are named by their node key, not by DNS: any host:port works, the handshake proves who.
    client.check_hostname = False
    return server, client


class Identity:
    """What this node proves in a handshake, and whom it accepts."""

    def __init__(self, config: P2PConfig, node_key: bytes, node_id: str) -> None:
        self.chain_id = config.chain_id
        self.node_key = node_key
        self.node_id = node_id
        self.fingerprint = cert_fingerprint(der(Path(config.cert).read_text()))
        self.pins = pins(config.trusted)


async def authenticate(reader, writer, me: Identity, admit: Callable[[str], None]) -> str | None:
    """Exchange HELLO and AUTH on a TLS link; the peer's proven node address (None: it is us).
    `admit(claimed)` raises ProtocolError to refuse; it is asked before our AUTH goes out and
    again once the peer's AUTH proves its claim."""
    ssl_object = writer.get_extra_info("ssl_object")
    peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    if not peer_der:
        raise ProtocolError("no peer certificate")
    peer_fp = cert_fingerprint(peer_der)
    nonce = os.urandom(32)
    writer.write(frame(HELLO, struct.pack(">Q", me.chain_id) + bytes.fromhex(me.node_id[2:]) + nonce))
    kind, data = await read_frame(reader, HANDSHAKE_FRAME)
    if kind != HELLO or len(data) != HELLO_DATA:
        raise ProtocolError("expected HELLO")
    (chain_id,) = struct.unpack(">Q", data[:8])
    claimed = "0x" + data[8:28].hex()
    if chain_id != me.chain_id:
        raise ProtocolError(f"peer on chain {chain_id}")
    if claimed == me.node_id:
        return None
    if me.pins.get(claimed) != peer_fp:
        raise ProtocolError(f"certificate is not the one pinned for {claimed}")
    # Decide on the claim before our AUTH goes out: the peer counts the link as up as soon as it
    # has verified our AUTH, so a node we refuse must never receive it (otherwise a removed or
    # banned node sees a peer, briefly, every time it redials).
    admit(claimed)
    writer.write(frame(AUTH, sign_auth(me.node_key, me.fingerprint, peer_fp, data[28:60])))
    kind, data = await read_frame(reader, HANDSHAKE_FRAME)
    if kind != AUTH or len(data) != AUTH_DATA:
        raise ProtocolError("expected AUTH")
    try:
        signer = recover_auth(data, peer_fp, me.fingerprint, nonce)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from exc
    if signer != claimed:
        raise ProtocolError(f"claims {claimed} but key is {signer}")
    admit(claimed)  # again, now proven: a new head or a ban may have come in meanwhile
    return claimed


class PendingHandshakes:
    """Inbound handshakes in progress: at most `total` at once, `per_ip` of them from one address
    (geth's maxpendpeers; beyond it a connection is closed at once, before TLS costs anything)."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total, self.per_ip = total, per_ip
        self._by_ip: dict[str, int] = {}
        self.count = 0

    def take(self, ip: str) -> str | None:
        """Take a slot for `ip`; None when taken, else why not."""
        if self.count >= self.total:
            return f"{self.count} handshakes already in progress (max_pending_peers {self.total})"
        if self._by_ip.get(ip, 0) >= self.per_ip:
            return f"{self.per_ip} handshakes from this address in progress (max_pending_per_ip)"
        self._by_ip[ip] = self._by_ip.get(ip, 0) + 1
        self.count += 1
        return None

    def release(self, ip: str) -> None:
        self.count -= 1
        left = self._by_ip.pop(ip) - 1
        if left:
            self._by_ip[ip] = left
