"""The mutual-TLS transport over real loopback sockets: authentication, gossip, requests, abuse."""

from __future__ import annotations

import asyncio
import os
import ssl

import pytest

from consortium.network.pki import create_node_certificate
from consortium.network.processes import free_port
from harness.proxy import TcpProxy
from node.p2p.config import P2PConfig
from node.p2p.identity import node_address
from node.p2p.transport import TlsPeerNetwork

CHAIN = 4242


class Fleet:
    """Node keys and their self-signed certificates in a temp dir, every certificate pinned to its
    node address; builds transports on demand."""

    def __init__(self, root, n: int) -> None:
        self.root = root
        self.keys = [os.urandom(32) for _ in range(n)]
        self.ids = [node_address(k) for k in self.keys]
        self.ports = [free_port() for _ in range(n)]
        self.allowed = set(self.ids)
        self.trusted = {
            node_id: create_node_certificate(node_id, root / f"n{i}.crt", root / f"n{i}.key")
            for i, node_id in enumerate(self.ids)
        }

    def config(self, i: int, peers: list[int], trusted=None, cert=None, key=None) -> P2PConfig:
        return P2PConfig(
            host="127.0.0.1",
            port=self.ports[i],
            peers=[f"127.0.0.1:{self.ports[j]}" for j in peers],
            trusted=trusted or self.trusted,
            cert=cert or self.root / f"n{i}.crt",
            key=key or self.root / f"n{i}.key",
            chain_id=CHAIN,
        )

    def node(self, i: int, peers: list[int], **kw) -> TlsPeerNetwork:
        return TlsPeerNetwork(
            self.config(i, peers, **kw), kw.pop("node_key", self.keys[i]), self.allowed.__contains__
        )


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_mesh_gossips_once_and_answers_requests(tmp_path):
    fleet = Fleet(tmp_path, 4)

    async def main():
        nets = [fleet.node(i, [j for j in range(4) if j != i]) for i in range(4)]
        got: list[list[tuple[str, bytes]]] = [[] for _ in nets]
        for i, net in enumerate(nets):

            async def on_msg(peer, payload, i=i, net=net):
                got[i].append((peer, payload))
                net.broadcast("qbft", payload)  # re-gossip everything: must not echo

            net.subscribe("qbft", on_msg)

            async def echo(peer, payload, i=i):
                return f"{i}:{peer}:".encode() + payload

            net.serve("sync", echo)
            await net.start()
        await until(lambda: all(len(n.peers()) == 3 for n in nets))
        # exactly one connection per pair, with the proven ids
        for i, net in enumerate(nets):
            assert sorted(p.node_id for p in net.peers()) == sorted(fleet.ids[j] for j in range(4) if j != i)
        nets[0].broadcast("qbft", b"hello")
        await until(lambda: all(len(g) == 1 for g in got[1:]))
        await asyncio.sleep(0.3)
        assert got[0] == [] and all(len(g) == 1 and g[0][1] == b"hello" for g in got[1:])
        answer = await nets[1].request(fleet.ids[2], "sync", b"abc", timeout=5)
        assert answer == f"2:{fleet.ids[1]}:abc".encode()
        for net in nets:
            await net.stop()

    run(main())


def test_reconnects_after_peer_restart(tmp_path):
    fleet = Fleet(tmp_path, 2)

    async def main():
        a, b = fleet.node(0, [1]), fleet.node(1, [])
        await a.start()
        await asyncio.sleep(0.5)  # a dials a closed port and backs off
        await b.start()
        await until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1)
        await b.stop()
        await until(lambda: not a.peers())
        b = fleet.node(1, [])
        await b.start()
        await until(lambda: len(a.peers()) == 1, timeout=15)
        await a.stop()
        await b.stop()

    run(main())


def test_strangers_cannot_connect(tmp_path):
    """A pinned certificate but a node key off the allowlist; and a valid node key with a fresh
    self-signed certificate nobody pinned (what a stolen node key alone would give)."""
    fleet = Fleet(tmp_path, 3)
    fleet.allowed.discard(fleet.ids[2])
    rogue_pem = create_node_certificate(fleet.ids[1], tmp_path / "rogue.crt", tmp_path / "rogue.key")

    async def main():
        honest = fleet.node(0, [])
        stranger = fleet.node(2, [0])
        rogue = TlsPeerNetwork(
            fleet.config(
                1, [0], trusted={**fleet.trusted, fleet.ids[1]: rogue_pem},
                cert=tmp_path / "rogue.crt", key=tmp_path / "rogue.key",
            ),
            fleet.keys[1],
            fleet.allowed.__contains__,
        )  # fmt: skip
        await honest.start()
        await stranger.start()
        await rogue.start()
        await asyncio.sleep(2.0)
        assert honest.peers() == [] and stranger.peers() == [] and rogue.peers() == []
        for net in (honest, stranger, rogue):
            await net.stop()

    run(main())


def test_impostor_with_stolen_certificate_is_refused(tmp_path):
    """Node 1's pinned certificate used with node 2's key: it is not the certificate pinned for node 2."""
    fleet = Fleet(tmp_path, 3)

    async def main():
        honest = fleet.node(0, [])
        impostor = TlsPeerNetwork(
            fleet.config(2, [0], cert=tmp_path / "n1.crt", key=tmp_path / "n1.key"),
            fleet.keys[2],
            fleet.allowed.__contains__,
        )
        await honest.start()
        await impostor.start()
        await asyncio.sleep(1.5)
        assert honest.peers() == []
        await honest.stop()
        await impostor.stop()

    run(main())


def test_garbage_and_malformed_frames_drop_only_that_peer(tmp_path):
    fleet = Fleet(tmp_path, 2)

    async def main():
        a, b = fleet.node(0, []), fleet.node(1, [0])
        seen = []

        async def on_tx(peer, payload):
            seen.append(payload)

        a.subscribe("tx", on_tx)
        await a.start()
        # plain TCP garbage: TLS fails, the listener survives
        _, w = await asyncio.open_connection("127.0.0.1", fleet.ports[0])
        w.write(os.urandom(4096))
        await w.drain()
        w.close()
        # TLS with a good certificate, then an oversized frame header
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_cert_chain(tmp_path / "n1.crt", tmp_path / "n1.key")
        ctx.load_verify_locations(cadata="".join(fleet.trusted.values()))
        r, w = await asyncio.open_connection("127.0.0.1", fleet.ports[0], ssl=ctx)
        w.write(b"\xff\xff\xff\xff" + os.urandom(64))
        await w.drain()
        leftover = await r.read()  # returns at EOF: the node closed the connection
        assert len(leftover) == 4 + 2 + 60 and leftover[5] == 0  # its HELLO only, nothing more
        w.close()
        await b.start()
        await until(lambda: len(a.peers()) == 1)
        # an authenticated peer that then sends a frame of an unknown kind is dropped ...
        conn = b._conns[fleet.ids[0]]
        conn.send(b"\x00\x00\x00\x02\x01\x63")
        await until(lambda: not a.peers())
        # ... and comes back after its back-off, with the network intact
        await until(lambda: len(a.peers()) == 1, timeout=15)
        b.broadcast("tx", b"\x02payload")
        await until(lambda: seen == [b"\x02payload"])
        await a.stop()
        await b.stop()

    run(main())


def test_punished_peer_is_dropped_and_kept_out_for_a_while(tmp_path):
    fleet = Fleet(tmp_path, 2)

    async def main():
        a, b = fleet.node(0, []), fleet.node(1, [0])
        await a.start()
        await b.start()
        await until(lambda: len(a.peers()) == 1)
        a.punish(fleet.ids[1], "sent an invalid block")
        await until(lambda: not a.peers() and not b.peers())
        await asyncio.sleep(1.5)
        assert a.peers() == []
        with pytest.raises(Exception):  # noqa: B017
            await a.request(fleet.ids[1], "sync", b"", timeout=1)
        await a.stop()
        await b.stop()

    run(main())


def test_a_refused_node_never_sees_a_link_while_it_keeps_dialling(tmp_path):
    """Node 1 is removed from node 0's allowlist; both keep dialling each other (static peers).
    Node 0 must refuse before its AUTH goes out, so node 1 never counts a link, not even briefly."""
    fleet = Fleet(tmp_path, 2)

    async def main():
        a, b = fleet.node(0, [1]), fleet.node(1, [0])
        a.is_node_allowed = lambda node_id: node_id != fleet.ids[1] or not removed
        removed = False
        links: list[str] = []

        async def connected(info) -> None:
            links.append(info.node_id)

        b.on_peer_connected(connected)
        await a.start()
        await b.start()
        await until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1)
        removed = True
        a.enforce_allowlist()
        await until(lambda: not a.peers() and not b.peers())
        links.clear()
        await asyncio.sleep(2.5)  # several redials each way, at back-off 0.25 s, 0.5 s, 1 s
        assert links == [] and a.peers() == [] and b.peers() == []
        await a.stop()
        await b.stop()

    run(main())


def test_silent_partition_is_detected_and_heals(tmp_path):
    """A link that stops carrying bytes (no reset) is dropped by keep-alive and re-dialled after."""
    fleet = Fleet(tmp_path, 2)
    proxy = TcpProxy("127.0.0.1", fleet.ports[1]).start()

    async def main():
        config_a = fleet.config(0, [])
        config_a.peers = [proxy.address]
        config_a.ping_interval, config_a.idle_timeout = 0.2, 1.0
        a = TlsPeerNetwork(config_a, fleet.keys[0], fleet.allowed.__contains__)
        config_b = fleet.config(1, [])
        config_b.ping_interval, config_b.idle_timeout = 0.2, 1.0
        b = TlsPeerNetwork(config_b, fleet.keys[1], fleet.allowed.__contains__)
        got = []

        async def on_msg(peer, payload):
            got.append(payload)

        b.subscribe("qbft", on_msg)
        await a.start()
        await b.start()
        await until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1)
        proxy.set_mode("blackhole")
        a.broadcast("qbft", b"lost")
        await until(lambda: not a.peers() and not b.peers(), timeout=5)
        assert got == []
        proxy.set_mode("pass")
        await until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1, timeout=15)
        a.broadcast("qbft", b"after")
        await until(lambda: got == [b"after"])
        await a.stop()
        await b.stop()

    try:
        run(main())
    finally:
        proxy.stop()


def test_a_node_busy_longer_than_the_idle_timeout_keeps_its_links(tmp_path):
    """A validator executing a large block under load blocks its event loop for seconds: neither it
    nor its peers may take that for a dead link (default keep-alive settings)."""
    import threading
    import time

    fleet = Fleet(tmp_path, 2)
    busy_loop = asyncio.new_event_loop()
    busy = threading.Thread(target=busy_loop.run_forever, daemon=True)
    busy.start()

    async def main():
        a = fleet.node(0, [])
        b = fleet.node(1, [0])
        await a.start()
        asyncio.run_coroutine_threadsafe(b.start(), busy_loop).result(10)
        await until(lambda: len(a.peers()) == 1 and len(b.peers()) == 1)
        await asyncio.sleep(1.0)
        links = (a.peers(), b.peers())
        busy_loop.call_soon_threadsafe(time.sleep, 9.0)  # b's loop stalls (longer than the old 8 s limit)
        await asyncio.sleep(10.0)
        assert (a.peers(), b.peers()) == links  # the very same connections: nothing was dropped
        asyncio.run_coroutine_threadsafe(b.stop(), busy_loop).result(10)
        await a.stop()

    try:
        run(main())
    finally:
        busy_loop.call_soon_threadsafe(busy_loop.stop)
        busy.join(10)
        busy_loop.run_until_complete(asyncio.sleep(0))  # the closing transports' last callbacks
        busy_loop.close()


def test_a_line_delivers_end_to_end_only_through_a_relaying_handler(tmp_path):
    """a - b - c, no link a - c: c hears a's message when b's handler passes it on (after its own
    check), and not when b's handler keeps it; nothing goes back to the peer it came from."""
    fleet = Fleet(tmp_path, 3)

    async def main():
        a, b, c = fleet.node(0, [1]), fleet.node(1, [2]), fleet.node(2, [])
        got = {name: [] for name in "abc"}
        for name, net in zip("abc", (a, b, c), strict=True):

            async def on_msg(peer, payload, name=name, net=net):
                got[name].append((peer, payload))
                if payload.startswith(b"ok"):  # the handler decides what goes on
                    net.broadcast("tx", payload)

            net.subscribe("tx", on_msg)
            await net.start()
        await until(lambda: len(b.peers()) == 2 and len(a.peers()) == len(c.peers()) == 1)
        a.broadcast("tx", b"junk")
        a.broadcast("tx", b"ok 1")
        await until(lambda: got["c"] == [(fleet.ids[1], b"ok 1")])
        await asyncio.sleep(0.3)
        assert [p for _, p in got["b"]] == [b"junk", b"ok 1"] and got["a"] == []
        for net in (a, b, c):
            await net.stop()

    run(main())


def test_max_peers_and_pending_handshakes_are_bounded(tmp_path):
    """A node with max_peers 1 keeps one of two peers; with max_pending_per_ip 2, a third silent
    connection from one address is closed at once while two wait out the handshake deadline."""
    from node.p2p.config import P2PLimits

    fleet = Fleet(tmp_path, 3)

    async def main():
        config = fleet.config(0, [])
        config.limits = P2PLimits(handshake_timeout=1.0, max_peers=1, max_pending_per_ip=2)
        hub = TlsPeerNetwork(config, fleet.keys[0], fleet.allowed.__contains__)
        await hub.start()
        silent = [await asyncio.open_connection("127.0.0.1", fleet.ports[0]) for _ in range(3)]
        closed_at_once = await asyncio.wait_for(silent[2][0].read(), 0.5)
        assert closed_at_once == b""
        for reader, _ in silent[:2]:
            assert await asyncio.wait_for(reader.read(), 2.0) == b""  # the 1 s deadline, TLS included
        others = [fleet.node(1, [0]), fleet.node(2, [0])]
        for net in others:
            await net.start()
        await until(lambda: len(hub.peers()) == 1)
        await asyncio.sleep(1.0)
        assert len(hub.peers()) == 1 and sum(len(n.peers()) for n in others) == 1
        for net in (hub, *others):
            await net.stop()
        for _, writer in silent:
            writer.close()

    run(main())


def test_node_toml_bounds_reach_the_network_engine_and_store(tmp_path):
    """[p2p], [qbft] and [evidence] keys in node.toml; a bad value names its key."""
    import tomli_w

    from consortium.network.config import ConfigError, load_config

    doc = {
        "node": {"name": "n", "role": "validator"},
        "p2p": {"port": 1, "max_peers": 7, "handshake_timeout": 2},
        "rpc": {"port": 2},
        "qbft": {"message_queue_limit": 99},
        "evidence": {"min_free_disk_mib": 10},
    }
    path = tmp_path / "node.toml"
    path.write_text(tomli_w.dumps(doc))
    config = load_config(path)
    assert (config.p2p_limits.max_peers, config.p2p_limits.handshake_timeout) == (7, 2.0)
    assert config.p2p_limits.max_pending_peers == 50  # the default where the file is silent
    assert config.qbft_limits.message_queue_limit == 99 and config.evidence_limits.min_free_disk_mib == 10
    doc["p2p"]["max_peers"] = 0
    path.write_text(tomli_w.dumps(doc))
    with pytest.raises(ConfigError, match="max_peers must be a positive whole number"):
        load_config(path)


@pytest.mark.parametrize(
    ("table", "key", "value", "refusal"),
    [
        ("limits", "tx_gas_cap", 0, None),  # 0: no cap
        ("limits", "storage_min_free_mib", 0, None),  # 0: no check
        ("limits", "txpool_global_slots", 0, r"\[limits\] txpool_global_slots must be a positive whole"),
        ("limits", "txpool_global_slot", 1, r"\[limits\] has an unknown limit 'txpool_global_slot'"),
        ("rpc", "read_timeout", 0, r"\[rpc\] read_timeout must be a positive number, got 0"),
        ("rpc", "max_connections", 2.5, r"\[rpc\] max_connections must be a positive whole number"),
        ("qbft", "future_rounds", True, r"\[qbft\] future_rounds must be a positive whole number"),
        ("evidence", "page_mib", -1, r"\[evidence\] page_mib must be a positive whole number"),
        ("qbft", "message_queue_limt", 5, r"\[qbft\] has an unknown limit 'message_queue_limt'"),  # a typo
        ("evidence", "per_roots", 5, r"\[evidence\] has an unknown limit 'per_roots'"),
    ],
)
def test_node_toml_numbers_are_checked_alike_in_every_table(tmp_path, table, key, value, refusal):
    """[limits], [rpc], [p2p], [qbft] and [evidence] numbers pass one check: the key and what it
    takes in the refusal, 0 only where it turns a bound off."""
    import tomli_w

    from consortium.network.config import ConfigError, load_config

    doc = {"node": {"name": "n", "role": "validator"}, "p2p": {"port": 1}, "rpc": {"port": 2}}
    doc.setdefault(table, {})[key] = value
    path = tmp_path / "node.toml"
    path.write_text(tomli_w.dumps(doc))
    if refusal is None:
        assert getattr(load_config(path).limits, key) == value
    else:
        with pytest.raises(ConfigError, match=refusal):
            load_config(path)
