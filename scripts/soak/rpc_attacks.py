"""The attacks a JSON-RPC client can make, each repeated: slow HTTP clients and the connection cap,
filter and subscription floods, pool floods, heavy eth_call batches, evidence uploads the quotas
refuse. Each attacks a node the simulator does not use (it talks to member-0); the attackers'
accounts are the network's last user accounts, which the simulator does not use either."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time

from eth_account import Account
from eth_utils import keccak

from consortium.evidence.bundle import Bundle
from consortium.evidence.envelope import public_key_of
from consortium.evidence.store import MAX_BLOB
from consortium.evidence.upload import Upload
from harness.attacks import (
    LOOP,
    SLOW_BODY,
    SLOW_HEADERS,
    Drip,
    Uploader,
    batch,
    corrupted,
    raw,
    subscriber,
    without_readers,
)
from node.limits import NodeLimits
from node.rpc.listener import HttpLimits
from soak.base import Attack

HTTP, LIMITS = HttpLimits(), NodeLimits()  # the soak's nodes run with the defaults
CLAIM_SUBMITTED = "0x" + keccak(b"ClaimSubmitted(uint256,address,uint8,bool,bytes32,uint256)").hex()


class HttpSlowClients(Attack):
    """Slow-loris headers from one address, slow bodies from another (each cut with 408 at its
    read timeout), and a third address holding all the connections its cap allows and asking for
    more (503). Together fewer than the node's total cap: honest clients are never refused."""

    key = "http"
    name, target, pause = "HTTP slow clients, per-address cap", "validator-0", 0.5

    def round(self) -> None:
        port = self.net.by_name[self.target].rpc_port
        slow = [Drip(port, "127.0.0.9", SLOW_HEADERS, stop=self.stop) for _ in range(8)]
        slow += [Drip(port, "127.0.0.10", SLOW_BODY, stop=self.stop) for _ in range(4)]
        for drip in slow:
            drip.start()
        self.cap(port, "127.0.0.11")
        for drip in slow:
            drip.join(HTTP.read_timeout + 10)
            self.tally.sent += 1
            if drip.answer.startswith(b"HTTP/1.1 408"):
                self.tally.refused += 1
            elif not self.stop.is_set():
                self.tally.note("wrong", f"a slow client held {drip.held} s and got {drip.answer[:60]!r}")

    def cap(self, port: int, source: str) -> None:
        held = [socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
                for _ in range(HTTP.max_connections_per_ip)]  # fmt: skip
        self.tally.sent += len(held)
        self.tally.accepted += len(held)
        try:
            deadline = time.monotonic() + 5
            for _ in range(5):  # each one more: 503 at once (once the node has counted the held ones)
                while not (answer := ask(port, source)).startswith(b"HTTP/1.1 503"):
                    if time.monotonic() > deadline:
                        self.tally.note("wrong", f"connection past the cap answered {answer[:60]!r}")
                        return
                self.tally.sent += 1
                self.tally.refused += f"too many connections from {source}".encode() in answer
        finally:
            for s in held:
                s.close()


def ask(port: int, source: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0)) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return s.recv(4096)


class FilterFlood(Attack):
    """Block filters created in batches of 600 and never polled: the node holds at most
    `max_filters` and drops idle ones after `filter_timeout` on its own timer."""

    key = "filters"
    name, target, pause = "filter flood", "validator-2", 3.0

    def round(self) -> None:
        for answer in batch(self.net.url(self.target), "eth_newBlockFilter", [[]] * 600):
            self.expect(answer, "too many filters")


class SubscriptionFlood(Attack):
    """WebSockets asking for more log subscriptions than the node holds, every notification read,
    in their own process (tests/support/attacks.subscriber) for the whole run."""

    key = "subscriptions"
    name, target = "subscription flood", "validator-2"
    CONNECTIONS = LIMITS.max_subscriptions // LIMITS.ws_max_subscriptions + 2

    def run(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        counts, ready = spawn.Array("q", 3), spawn.Event()
        ws_url = self.net.url(self.target).replace("http://", "ws://")
        args = (ws_url, self.CONNECTIONS, LIMITS.ws_max_subscriptions, counts, ready)
        process = spawn.Process(target=subscriber, args=args, daemon=True)
        process.start()
        try:
            if not ready.wait(60):
                self.tally.note("errors", "the subscriber could not subscribe in 60 s")
            self.stop.wait()
        finally:
            process.kill()
            process.join(5)
        self.tally.sent = counts[1] + counts[2]
        self.tally.accepted, self.tally.refused = counts[1], counts[2]
        self.rounds, self.notifications = 1, counts[0]
        if counts[1] > LIMITS.max_subscriptions:
            self.tally.note("wrong", f"{counts[1]} subscriptions held (cap {LIMITS.max_subscriptions})")


class PoolFlood(Attack):
    """Oversized transactions behind a nonce gap, more waiting transactions than an account may
    queue, a burst of executable transfers, one over the gas cap, and one from an account the
    allowlist does not know."""

    key = "pool"
    name, target = "pool flood", "validator-1"
    OUTSIDER = "0x" + "5b" * 32
    TO = "0x" + "33" * 20

    def __init__(self, net, stop, accounts: list[dict]) -> None:
        super().__init__(net, stop)
        self.huge, self.gap, self.burst = (a["privateKey"] for a in accounts)
        self.gap_sent = 0

    def send(self, txs: list[str], *refusals: str) -> None:
        for answer in batch(self.net.url(self.target), "eth_sendRawTransaction", [[tx] for tx in txs]):
            self.expect(answer, *refusals)

    def round(self) -> None:
        chain = {"chain_id": self.net.chain_id, "to": self.TO}
        huge = self.nonce(self.huge) + 5
        for i in range(3):  # one per request: 2 MB of hex each
            self.send([raw(self.huge, huge + i, data=os.urandom(1_000_000), **chain)], "oversized data")
        start = self.nonce(self.gap) + 1 + self.gap_sent  # always new nonces behind the gap
        accepted = self.tally.accepted
        self.send([raw(self.gap, start + i, **chain) for i in range(80)], "account limit exceeded")
        self.gap_sent += 80
        if self.tally.accepted - accepted > LIMITS.txpool_account_queue:
            self.tally.note("wrong", f"{self.tally.accepted - accepted} transactions queued behind a gap")
        first = self.nonce(self.burst)
        self.send([raw(self.burst, first + i, **chain) for i in range(50)], "txpool is full", "underpriced")
        over = raw(self.burst, first + 50, gas=LIMITS.tx_gas_cap + 1, **chain)
        self.send([over, raw(self.OUTSIDER, 0, **chain)], "gas limit too high", "not authorized")

    def nonce(self, key: str) -> int:
        address = Account.from_key(key).address
        return int(self.net.call(self.target, "eth_getTransactionCount", address, "pending"), 16)


class HeavyCalls(Attack):
    """A batch of eight loops of 2M gas each (out of gas, or the 5 s EVM timeout first on a
    machine loaded enough: either bound refuses it), then one asking for 100M gas: capped at 50M
    and stopped by the 5 s EVM timeout, off the node's event loop."""

    key = "calls"
    name, target, pause = "heavy eth_call batches", "validator-3", 0.2

    def round(self) -> None:
        url = self.net.url(self.target)
        for answer in batch(url, "eth_call", [[{"data": LOOP, "gas": hex(2_000_000)}]] * 8, timeout=120):
            self.expect(answer, "out of gas", "execution aborted (timeout")
        call = [[{"data": LOOP, "gas": hex(100_000_000)}, "latest"]]
        self.expect(batch(url, "eth_call", call, timeout=60)[0], "execution aborted (timeout")


class EvidenceUploads(Attack):
    """Allowlisted accounts filing what the evidence bounds refuse: a fifth envelope under one
    root, an envelope with `readers: {}`; and junk (a well-formed envelope nobody can open) under
    the roots of the claims the simulator files, which the quotas let in and readers skip."""

    key = "evidence"
    name, target, pause = "evidence uploads", "validator-2", 1.0

    def __init__(self, net, stop, accounts: list[dict]) -> None:
        super().__init__(net, stop)
        self.uploaders = [Uploader(a, net.chain_id) for a in accounts]
        self.readers = [public_key_of(os.urandom(32))]
        self.seen_block = 0
        self.used = 0

    def put(self, upload: dict, *refusals: str) -> None:
        self.expect(batch(self.net.url(self.target), "hubao_putEvidence", [[upload]])[0], *refusals)

    def uploader(self) -> Uploader:
        self.used += 1
        return self.uploaders[self.used % len(self.uploaders)]

    def round(self) -> None:
        bundle = Bundle.of_named([("note.txt", os.urandom(64))])
        one = self.uploader()
        for _ in range(5):  # per_root_per_uploader is 4
            self.put(one.upload(bundle.root, bundle.seal_for(self.readers)), "envelopes under")
        self.put(one.upload(bundle.root, without_readers(bundle.seal_for(self.readers))), "1 to 256 readers")
        for root in self.claim_roots():
            filed = self.net.call(self.target, "hubao_getEvidence", "0x" + root.hex())
            if filed:
                junk = corrupted(Upload.from_json(filed[0], MAX_BLOB).envelope)
                self.put(self.uploader().upload(root, junk), "envelopes under", "evidence quota")

    def claim_roots(self) -> list[bytes]:
        """Evidence roots of the claims submitted since the last round (any deployment)."""
        head = int(self.net.call(self.target, "eth_blockNumber"), 16)
        logs = self.net.call(self.target, "eth_getLogs", {"fromBlock": hex(self.seen_block + 1),
                             "toBlock": hex(head), "topics": [CLAIM_SUBMITTED]})  # fmt: skip
        self.seen_block = head
        return [bytes.fromhex(log["data"][2:])[64:96] for log in logs]
