"""One node's p2p settings: where it listens, whom it dials and trusts, and the bounds it keeps.

The bounds are geth's where geth has one: `max_peers` (`--maxpeers`, 50), `max_pending_peers`
(`--maxpendpeers`, 50: inbound handshakes in progress at once) and its 5-second handshake
timeout, here covering TLS, HELLO and AUTH together. `max_pending_per_ip` keeps one address
from taking every pending slot. Operators set them in node.toml `[p2p]` (docs/nodes.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PING_INTERVAL = 2.0
IDLE_TIMEOUT = 20.0  # no frame at all for this long: the link is dead (e.g. a silent partition)


@dataclass(frozen=True)
class P2PLimits:
    handshake_timeout: float = 5.0  # TLS + HELLO + AUTH, from accept or dial (geth handshakeTimeout)
    max_peers: int = 50  # authenticated peers at once (geth --maxpeers)
    max_pending_peers: int = 50  # inbound handshakes in progress at once (geth --maxpendpeers)
    max_pending_per_ip: int = 8  # of those, from one remote address


@dataclass
class P2PConfig:
    host: str
    port: int
    peers: list[str]  # host:port of nodes to dial
    trusted: Mapping[str, str]  # node address -> its TLS certificate (PEM), pinned
    cert: Path
    key: Path
    chain_id: int
    key_password: str | None = None  # the TLS key's, when it is encrypted
    ping_interval: float = PING_INTERVAL
    idle_timeout: float = IDLE_TIMEOUT
    limits: P2PLimits = field(default_factory=P2PLimits)
