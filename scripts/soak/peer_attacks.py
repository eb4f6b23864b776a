"""The attacks a peer can make, each repeated: strangers before p2p authentication (idle and junk
connections, a 16 MiB HELLO, TLS and then silence), QBFT junk and future floods from a member
node's identity, and junk evidence gossip. The identities are those of member nodes that do not
run (tests/hostile/peernet.attacker): the strongest position a stranger can reach."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from consortium.evidence.bundle import Bundle
from consortium.evidence.envelope import public_key_of
from consortium.network.config import load_config
from harness.attacks import (
    Uploader,
    dropped,
    gossip_junk,
    idle_connections,
    junk_prepares,
    oversized_hello,
    silent_after_tls,
    still_open,
    tls_context,
    validator_proposals,
    without_readers,
)
from harness.peernet import attacker
from node.p2p.abc import TOPIC_QBFT
from node.p2p.config import P2PLimits
from node.qbft.keys import Signer
from soak.base import Attack

P2P = P2PLimits()
HELLO = 66  # the node's own HELLO frame: all it sends before the peer's AUTH


class PreAuthFlood(Attack):
    """100 idle connections from one address, 80 from ten others, random bytes instead of TLS, three
    16 MiB HELLOs and a silent TLS link with a pinned certificate (`identity`'s); each must be
    closed before TLS or within the handshake deadline, and never more held than the caps."""

    key = "preauth"
    name, target, pause = "p2p before authentication", "validator-0", 2.0

    def __init__(self, net, stop, identity: str) -> None:
        super().__init__(net, stop)
        self.ctx = tls_context(net.root, identity)
        entry = net.by_name[self.target]
        self.address = (entry.host, entry.p2p_port)

    def round(self) -> None:
        silent: list[float] = []
        quiet = threading.Thread(target=lambda: silent.append(silent_after_tls(self.address, self.ctx)))
        quiet.start()
        one = idle_connections(self.address, "127.0.0.2", 100)
        one_opened = time.monotonic()
        junk = idle_connections(self.address, "127.0.0.5", 10)
        for s in junk:
            s.sendall(os.urandom(4096))
        self.at_most(one, P2P.max_pending_per_ip, one_opened, "from one address")
        for sent, seconds in (oversized_hello(self.address, self.ctx) for _ in range(3)):
            self.tally.sent += 1
            if sent <= HELLO and seconds < 2:
                self.tally.refused += 1
            else:
                self.tally.note("wrong", f"a 16 MiB HELLO got {sent} bytes, closed after {seconds:.1f} s")
        many = [s for i in range(10) for s in idle_connections(self.address, f"127.0.1.{i + 1}", 8)]
        opened = time.monotonic()
        self.at_most(many, P2P.max_pending_peers, opened, "from ten addresses")
        quiet.join(15)
        self.tally.sent += 1
        if silent and silent[0] <= P2P.handshake_timeout + 2:
            self.tally.refused += 1
        else:
            self.tally.note("wrong", f"a silent TLS link was held {silent} s")
        self.stop.wait(max(0.0, opened + P2P.handshake_timeout + 1.5 - time.monotonic()))
        everything = one + junk + many
        left = still_open(everything) if not self.stop.is_set() else 0
        if left:
            self.tally.note("wrong", f"{left} connections still open past the handshake deadline")
        self.tally.sent += len(junk)
        self.tally.refused += len(junk)
        for s in everything:
            s.close()

    def at_most(self, sockets: list, cap: int, opened: float, where: str) -> None:
        """At most `cap` of `sockets` held open before the handshake deadline could close them. The
        node closes the surplus as it accepts them, which a busy node does late (the kernel has
        completed their TCP handshakes meanwhile): poll until they are down to the cap, and judge
        well before the deadline, when the node would close them all anyway."""
        judge_by = opened + P2P.handshake_timeout - 1.5
        held = still_open(sockets)
        while held > cap and time.monotonic() < judge_by and not self.stop.is_set():
            self.stop.wait(0.1)
            held = still_open(sockets)
        sent = len(sockets)
        self.tally.sent += sent
        self.tally.refused += sent - held  # closed before TLS
        self.tally.accepted += held  # held until the handshake deadline
        if held > cap:
            self.tally.note("wrong", f"{held} pending handshakes held {where} (cap {cap})")


class QbftFlood(Attack):
    """From a member node's identity, linked to one validator: 100 block-sized proposals for
    future heights signed by a real validator (a byzantine one: its share of the future buffer),
    then PREPAREs signed by random keys above the next height (punished after a few strikes) and
    at it (punished at once). Each punishment is a 10 s ban; the attacker dials back after it."""

    key = "qbft"
    name, target, pause = "QBFT junk and future floods", "validator-1", 0.5

    def __init__(self, net, stop, identity: str, byzantine: str) -> None:
        super().__init__(net, stop)
        self.identity = identity
        self.signer = Signer(load_config(net.root / byzantine / "node.toml").secret())

    def run(self) -> None:
        asyncio.run(self.main())

    async def main(self) -> None:
        peer = attacker(self.net, self.identity, dial=self.target)
        await peer.start()
        try:
            while not self.stop.is_set():
                try:
                    await self.one_round(peer)
                    self.rounds += 1
                except Exception as exc:
                    self.tally.note("errors", f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.pause)
        finally:
            await peer.stop()

    def head(self) -> int:
        return int(self.net.call(self.target, "eth_blockNumber"), 16)

    async def flood(self, peer, make, punished: bool, timeout: float) -> None:
        """Link (past a ban and the dialler's back-off), then send `make(head)`'s messages, made
        for the head of that moment (blocks come several a second)."""
        deadline = time.monotonic() + 30
        while not peer.peers() and not self.stop.is_set():
            assert time.monotonic() < deadline, "the attacker never got a link"
            await asyncio.sleep(0.05)
        if self.stop.is_set():
            return
        messages = await asyncio.to_thread(lambda: make(self.head()))
        for data in messages:
            peer.broadcast(TOPIC_QBFT, data)
        self.tally.sent += len(messages)
        gone = await dropped(peer, timeout)
        if gone == punished:
            self.tally.refused += len(messages) if punished else 0
            self.tally.accepted += 0 if punished else len(messages)
        else:
            self.tally.note("wrong", f"{len(messages)} messages: dropped {gone}, expected {punished}")

    async def one_round(self, peer) -> None:
        def proposals(head: int) -> list[bytes]:  # a validator's share of the future buffer: kept
            return validator_proposals(self.signer, head, 100, 200_000)

        def above(head: int) -> list[bytes]:  # strikes, then punished
            return junk_prepares(head + 5, 48)

        def at(head: int) -> list[bytes]:  # punished at once (and the next heights, should one land)
            return [data for h in range(head + 1, head + 4) for data in junk_prepares(h, 40)]

        for make, punished, timeout in ((proposals, False, 2.0), (above, True, 10.0), (at, True, 10.0)):
            await self.flood(peer, make, punished, timeout)


class EvidenceGossip(Attack):
    """From a member node's identity: an upload no honest node files (`readers: {}`), gossiped;
    the validator must drop the link for it."""

    key = "gossip"
    name, target, pause = "evidence gossip junk", "validator-3", 1.0

    def __init__(self, net, stop, identity: str, account: dict) -> None:
        super().__init__(net, stop)
        self.identity = identity
        self.uploader = Uploader(account, net.chain_id)

    def round(self) -> None:
        self.tally.sent += 1
        bundle = Bundle.of_named([("note.txt", os.urandom(16))])  # new each time: gossip is deduplicated
        sealed = bundle.seal_for([public_key_of(os.urandom(32))])
        upload = self.uploader.upload(bundle.root, without_readers(sealed))
        peer = attacker(self.net, self.identity, dial=self.target)
        try:
            gone = asyncio.run(gossip_junk(peer, upload))
        except AssertionError:  # no link yet: still banned from the last round
            self.stop.wait(2.0)
            self.tally.sent -= 1
            return
        if gone:
            self.tally.refused += 1
        else:
            self.tally.note("wrong", "a peer gossiping junk evidence kept its link")
