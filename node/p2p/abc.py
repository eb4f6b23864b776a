"""The peer network as consensus, sync and gossip see it: topics, not sockets.

Everything above the transport (QBFT, block sync, transaction gossip) programs against
`PeerNetworkAPI` only, so the same engine runs over mutual-TLS TCP between processes
(`node.p2p.transport`) and over an in-process hub in unit tests (`node.p2p.memory`).

Delivery contract, identical for every implementation:
- `broadcast` sends to every connected peer. A message is identified by a hash of topic and payload;
  each node delivers a given message to its subscribers at most once and sends it at most once.
  Nothing is relayed by the transport itself: a subscriber relays a message by broadcasting it
  once it has checked it, and the transport then skips the peers that sent it to us, so a
  partial mesh still delivers and junk stops at the first honest node (`node.p2p.gossip`).
- Subscribers get `(peer_id, payload)`: `peer_id` is the *direct* neighbour that delivered it,
  not the author. Consensus messages carry their own signatures; trust those, not `peer_id`.
- `request` is point-to-point with a timeout; the peer's `serve` handler for the topic answers.
- Peer ids are node addresses ("0x" + 40 lowercase hex, from the secp256k1 node key), proven
  during the handshake; only nodes on the node allowlist ever appear in `peers()`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

# Well-known topics. Payloads are opaque bytes to the transport.
TOPIC_TX = "tx"  # RLP/typed raw transactions, gossiped into every pool
TOPIC_QBFT = "qbft"  # consensus messages; the engine decides what to re-gossip
TOPIC_SYNC = "sync"  # block requests (request/response)

GossipHandler = Callable[[str, bytes], Awaitable[None]]
RequestHandler = Callable[[str, bytes], Awaitable[bytes]]
PeerHandler = Callable[["PeerInfo"], Awaitable[None]]


class NetworkError(Exception):
    """Base for network failures seen by callers."""


class PeerUnavailable(NetworkError):
    """The peer is not connected (or disconnected while we waited)."""


class RequestFailed(NetworkError):
    """The peer answered with an error (no handler for the topic, or the handler raised)."""


@dataclass(frozen=True)
class PeerInfo:
    node_id: str  # the peer's node address, proven by signature during the handshake
    remote: str  # host:port of the socket
    inbound: bool  # True when the peer dialled us
    connected_at: float  # time.time() of the handshake
    version: int  # wire protocol version the peer speaks


class PeerNetworkAPI(ABC):
    node_id: str  # our own node address

    @abstractmethod
    async def start(self) -> None:
        """Listen and dial the configured peers; returns once listening (peers come later)."""

    @abstractmethod
    async def stop(self) -> None:
        """Close every connection and the listener."""

    @abstractmethod
    def broadcast(self, topic: str, payload: bytes, exclude: Iterable[str] = ()) -> None:
        """Send to every peer but those that sent it to us and `exclude` (a message's author);
        a no-op for a message this node already sent. Relaying what was received is this call."""

    @abstractmethod
    def subscribe(self, topic: str, handler: GossipHandler) -> None:
        """Call `handler(peer_id, payload)` for each new message on `topic` (several allowed)."""

    @abstractmethod
    def serve(self, topic: str, handler: RequestHandler) -> None:
        """Answer requests on `topic` with `await handler(peer_id, payload)` (one per topic)."""

    @abstractmethod
    async def request(self, peer_id: str, topic: str, payload: bytes, timeout: float) -> bytes:
        """Ask one peer; raises PeerUnavailable, RequestFailed or TimeoutError."""

    @abstractmethod
    def peers(self) -> list[PeerInfo]:
        """Connected, authenticated peers."""

    @abstractmethod
    def on_peer_connected(self, handler: PeerHandler) -> None:
        """Call `handler(info)` after each successful handshake (sync uses it to ask for heads)."""

    @abstractmethod
    def punish(self, peer_id: str, reason: str) -> None:
        """Drop a peer that sent invalid data (logged once per ban); it may reconnect after a back-off."""
