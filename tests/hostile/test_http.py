"""Issue 16, HTTP row: no client can hold the JSON-RPC port, against a real dev node process.

The attacker connects from 127.0.0.9 and up (other "hosts"); the honest client (LatencyProbe,
eth_blockNumber every 50 ms from 127.0.0.1) must be answered within 200 ms p99, without errors,
during and after each attack. The node runs with short read timeouts so the test is quick
(headers 3 s, whole request 6 s; the defaults are 10 s and 30 s, docs/nodes.md):
- slow-loris headers (a byte every 2 s) are cut with 408 at the header timeout;
- a slow body (complete headers, then a byte every 2 s) is cut with 408 at the read timeout;
- connections past the per-address cap, and past the total cap, get 503 at once, and are
  served again once the held connections time out (the total cap refuses the honest client too
  while it is full: that is what a cap is; the per-address cap does not);
- resident memory stays flat while 60 slow connections come and go;
- a handler's exception reaches the client as "internal error", its text only the log, once.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import aiohttp
import pytest

from harness.attacks import SLOW_BODY, SLOW_HEADERS, drips
from harness.probes import LatencyProbe, rss_mib
from harness.processes import DevNode, rpc
from node.abc import RpcNamespaceAPI

HEADER_TIMEOUT, READ_TIMEOUT = 3.0, 6.0
PER_IP, TOTAL = 6, 20
DRIP = 2.0  # seconds between the attacker's bytes
SLACK = 1.5  # what the node's timer and the test's own polling may add


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    limits = ["--rpc-read-header-timeout", str(HEADER_TIMEOUT), "--rpc-read-timeout", str(READ_TIMEOUT),
              "--rpc-max-connections", str(TOTAL), "--rpc-max-connections-per-ip", str(PER_IP)]  # fmt: skip
    with DevNode.start(tmp_path_factory.mktemp("http") / "data", extra=limits) as dev:
        yield dev


def honest(node) -> LatencyProbe:
    return LatencyProbe(node.url)


def assert_served(probe: LatencyProbe) -> None:
    assert probe.errors == 0 and probe.p99() < 0.2, (probe.errors, probe.p99())


def test_slow_headers_are_cut_at_the_header_timeout(node):
    with honest(node) as probe:
        attackers = drips(node.port, SLOW_HEADERS, ["127.0.0.9"] * 4, DRIP)
    assert_served(probe)
    for attacker in attackers:
        assert HEADER_TIMEOUT - 0.5 < attacker.held < HEADER_TIMEOUT + SLACK, attacker.held
        assert attacker.answer.startswith(b"HTTP/1.1 408 Request Timeout")
        assert b"request headers not received within 3 s" in attacker.answer
    with honest(node) as after:
        time.sleep(1)
    assert_served(after)


def test_a_slow_body_is_cut_at_the_read_timeout(node):
    with honest(node) as probe:
        attackers = drips(node.port, SLOW_BODY, ["127.0.0.9", "127.0.0.10", "127.0.0.11"], DRIP)
    assert_served(probe)
    for attacker in attackers:
        assert READ_TIMEOUT - 0.5 < attacker.held < READ_TIMEOUT + SLACK, attacker.held
        assert attacker.answer.startswith(b"HTTP/1.1 408 Request Timeout")
        assert b"request not received within 6 s" in attacker.answer


def _hold(port: int, source: str) -> socket.socket:
    return socket.create_connection(
        ("127.0.0.1", port), timeout=HEADER_TIMEOUT + SLACK, source_address=(source, 0)
    )


def _status_from(port: int, source: str) -> bytes:
    """What the node answers a GET from `source` (a 503 comes before the request is read)."""
    with _hold(port, source) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return s.recv(4096)


def _refused(port: int, source: str, words: bytes) -> bytes:
    """Wait (bounded) until the node has accepted the held connections and refuses `source`."""
    deadline = time.monotonic() + 5
    while not (answer := _status_from(port, source)).startswith(b"HTTP/1.1 503"):
        assert time.monotonic() < deadline, answer
    assert words in answer
    return answer


def _closed_by_node(held: list[socket.socket]) -> None:
    """Each held connection sent nothing: the node answers 408 at the header timeout and closes."""
    for s in held:
        answer = b""
        while data := s.recv(4096):
            answer += data
        assert answer.startswith(b"HTTP/1.1 408")
        s.close()


def test_connections_past_the_caps_are_refused_and_served_again_after_the_timeout(node):
    with honest(node) as probe:  # another address's cap does not touch the honest client
        held = [_hold(node.port, "127.0.0.9") for _ in range(PER_IP)]
        _refused(node.port, "127.0.0.9", b"too many connections from 127.0.0.9 (at most 6)")
        _closed_by_node(held)
        assert b"200 OK" in _status_from(node.port, "127.0.0.9")
    assert_served(probe)
    # the total cap refuses everyone, the honest client too, until held connections time out
    held = [_hold(node.port, f"127.0.0.{10 + i // PER_IP}") for i in range(TOTAL)]
    _refused(node.port, "127.0.0.30", b"too many connections (at most 20)")
    _closed_by_node(held)
    assert int(rpc(node.url, "eth_chainId"), 16) == 1337


def test_memory_stays_flat_while_slow_clients_come_and_go(node):
    before = rss_mib(node.proc.pid)
    sources = [f"127.0.0.{40 + i % 10}" for i in range(TOTAL - 2)]
    for _ in range(3):
        drips(node.port, SLOW_HEADERS, sources, DRIP)
    assert rss_mib(node.proc.pid) - before < 20
    with honest(node) as after:
        time.sleep(1)
    assert_served(after)


class Broken(RpcNamespaceAPI):
    name = "broken"

    def methods(self) -> dict:
        def fail() -> None:
            raise RuntimeError("secret detail /var/lib/hubao/keystore")

        return {"broken_call": fail}


def test_internal_errors_are_generic_to_clients_and_logged_once(tmp_path, caplog):
    """In process, over a real listener: a handler bug is 'internal error', its text only in the log."""
    from consortium.nodes.dev import DevNode as InProcessDev

    async def scenario():
        dev = InProcessDev(tmp_path / "data", accounts=1)
        dev.core.rpc.add_namespace(Broken())
        await dev.start("127.0.0.1", 0)
        body = {"jsonrpc": "2.0", "id": 1, "method": "broken_call", "params": []}
        try:
            async with aiohttp.ClientSession() as session:
                replies = []
                for _ in range(3):
                    async with session.post(f"http://127.0.0.1:{dev.core.port}/", json=body) as reply:
                        replies.append(await reply.json())
            return replies
        finally:
            await dev.stop()

    with caplog.at_level(logging.ERROR, logger="node.rpc"):
        replies = asyncio.run(scenario())
    assert all(r["error"] == {"code": -32603, "message": "internal error"} for r in replies)
    logged = [r for r in caplog.records if "internal error in broken_call" in r.getMessage()]
    assert len(logged) == 1 and "secret detail" in str(logged[0].exc_info[1])
