"""An in-process peer network with the exact delivery contract of the TLS transport.

For unit tests of consensus and sync: many engines in one event loop, with links that tests can
cut (`partition`) and heal, and no sockets. Process-level tests use the real transport.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from node.p2p.abc import (
    GossipHandler,
    PeerHandler,
    PeerInfo,
    PeerNetworkAPI,
    PeerUnavailable,
    RequestFailed,
    RequestHandler,
)
from node.p2p.gossip import Gossip

log = logging.getLogger(__name__)


class MemoryHub:
    """The wire: who is joined and which links are cut."""

    def __init__(self) -> None:
        self.nodes: dict[str, MemoryNetwork] = {}
        self._cut: set[frozenset[str]] = set()

    def join(self, node_id: str) -> MemoryNetwork:
        net = MemoryNetwork(self, node_id.lower())
        self.nodes[net.node_id] = net
        return net

    def linked(self, a: str, b: str) -> bool:
        return (
            a != b and frozenset((a, b)) not in self._cut and self.nodes[a].running and self.nodes[b].running
        )

    def partition(self, *groups: list[str]) -> None:
        """Cut every link between different groups (ids not listed keep all links)."""
        for i, group in enumerate(groups):
            for other in groups[i + 1 :]:
                for a in group:
                    for b in other:
                        self._cut.add(frozenset((a.lower(), b.lower())))

    def heal(self) -> None:
        self._cut.clear()
        for net in self.nodes.values():
            for peer in net.peers():
                net._announce(peer)


class MemoryNetwork(PeerNetworkAPI):
    def __init__(self, hub: MemoryHub, node_id: str) -> None:
        self.hub = hub
        self.node_id = node_id
        self.running = False
        self.gossip = Gossip()
        self._servers: dict[str, RequestHandler] = {}
        self._peer_handlers: list[PeerHandler] = []
        self._tasks: set[asyncio.Task] = set()
        self._since = time.time()
        self.punished: list[tuple[str, str]] = []

    async def start(self) -> None:
        self.running = True
        for peer in self.peers():
            self._announce(peer)
            self.hub.nodes[peer.node_id]._announce(self._info(self.node_id))

    async def stop(self) -> None:
        self.running = False
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _info(self, node_id: str) -> PeerInfo:
        return PeerInfo(node_id=node_id, remote="memory", inbound=False, connected_at=self._since, version=1)

    def _announce(self, peer: PeerInfo) -> None:
        for handler in self._peer_handlers:
            self._spawn(handler(peer))

    def broadcast(self, topic: str, payload: bytes, exclude: Iterable[str] = ()) -> None:
        if not self.running:
            return
        for peer in self.gossip.recipients(topic, payload, [p.node_id for p in self.peers()], exclude):
            self._spawn(self.hub.nodes[peer]._deliver(self.node_id, topic, payload))

    async def _deliver(self, sender: str, topic: str, payload: bytes) -> None:
        await asyncio.sleep(0)
        if self.hub.linked(sender, self.node_id):
            await self.gossip.deliver(sender, topic, payload)

    def subscribe(self, topic: str, handler: GossipHandler) -> None:
        self.gossip.subscribe(topic, handler)

    def serve(self, topic: str, handler: RequestHandler) -> None:
        self._servers[topic] = handler

    async def request(self, peer_id: str, topic: str, payload: bytes, timeout: float) -> bytes:
        peer_id = peer_id.lower()
        if peer_id not in self.hub.nodes or not self.hub.linked(self.node_id, peer_id):
            raise PeerUnavailable(peer_id)
        handler = self.hub.nodes[peer_id]._servers.get(topic)
        if handler is None:
            raise RequestFailed(f"no handler for {topic!r}")
        try:
            return await asyncio.wait_for(handler(self.node_id, payload), timeout)
        except TimeoutError:
            raise
        except Exception as exc:
            raise RequestFailed(str(exc)) from exc

    def peers(self) -> list[PeerInfo]:
        return [self._info(n) for n in self.hub.nodes if self.hub.linked(self.node_id, n)]

    def on_peer_connected(self, handler: PeerHandler) -> None:
        self._peer_handlers.append(handler)

    def punish(self, peer_id: str, reason: str) -> None:
        log.warning("punish %s: %s", peer_id, reason)
        self.punished.append((peer_id.lower(), reason))
