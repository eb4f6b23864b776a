"""A misbehaving validator for consensus tests: a QBFT engine that breaks the rules on purpose.

Attacks (any combination):
  equivocate  as proposer, send a second, different block for the same height and round
  forge_seals as proposer, announce its block as committed with forged, duplicated or missing
              commit seals (NEW_BLOCK)
  bad_tx      as proposer, put a transaction from an account that is not allowlisted in its block
  garbage     send random bytes on the consensus topic now and then
  replay      re-send consensus messages from earlier heights
It ignores its own sign log (a byzantine node signs whatever it likes).
"""

from __future__ import annotations

import os
from typing import Any

import rlp

from node.p2p.abc import TOPIC_QBFT
from node.qbft import messages as m
from node.qbft.engine import QbftEngine
from node.qbft.extradata import ExtraData
from node.qbft.keys import Signer

ATTACKS = frozenset({"equivocate", "forge_seals", "bad_tx", "garbage", "replay"})


class ByzantineEngine(QbftEngine):
    def __init__(
        self, *args: Any, attacks: set[str] = ATTACKS, forbidden_txs: list[Any] = (), **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.attacks = set(attacks)
        self.forbidden_txs = list(forbidden_txs)
        self.history: list[bytes] = []  # what it saw on the wire, for replays
        self.sent_attacks: dict[str, int] = {a: 0 for a in ATTACKS}

    def guard(self, height: int, round_: int, kind: str, digest: bytes) -> None:
        return None

    async def _on_gossip(self, peer: str, data: bytes) -> None:
        self.history.append(data)
        del self.history[:-500]
        await super()._on_gossip(peer, data)

    def create_block(self, round_: int) -> Any | None:
        if "bad_tx" not in self.attacks or not self.forbidden_txs:
            return super().create_block(round_)
        chain = self.chain
        head = chain.head
        validators = self.tracker.validators_for(head.block_number + 1)
        extra = ExtraData(validators, None, round_).encode()
        timestamp = max(int(self.node.clock.now()), head.timestamp + 1)
        block, receipts = chain.build_block(self.forbidden_txs, timestamp, extra, coinbase=self.address)
        if block.transactions:
            self.sent_attacks["bad_tx"] += 1
        return block

    def _broadcast(self, attack: str, payload: bytes) -> None:
        self.sent_attacks[attack] += 1
        self.network.broadcast(TOPIC_QBFT, payload)

    def send(self, message: Any) -> None:
        super().send(message)
        if "garbage" in self.attacks:
            self._broadcast("garbage", os.urandom(64))
            self._broadcast("garbage", bytes([m.PREPARE]) + os.urandom(100))
        if "replay" in self.attacks and self.history:
            for old in self.history[:20]:
                self.network.broadcast(TOPIC_QBFT, old)
            self.sent_attacks["replay"] += 1
        if not isinstance(message, m.Proposal):
            return
        block = self.decode_block(message.block_rlp)
        if "equivocate" in self.attacks:
            other, _ = self.chain.build_block(
                [], block.header.timestamp + 1, block.header.extra_data, coinbase=self.address
            )
            twin = m.Proposal.create(message.rid, rlp.encode(other), self.signer)
            self._broadcast("equivocate", m.encode(twin))
        if "forge_seals" in self.attacks:
            self._forge_seals(block)

    def _forge_seals(self, block: Any) -> None:
        from node.qbft.extradata import seal_digest

        extra = ExtraData.decode(block.header.extra_data)
        digest = seal_digest(block.header)
        strangers = [Signer(os.urandom(32)) for _ in range(3)]
        variants = {
            "missing": (),
            "duplicated": (self.signer.sign(digest),) * 3,
            "strangers": tuple(s.sign(digest) for s in strangers),
            "garbled": (b"\x01" * 65,) * 3,
        }
        for seals in variants.values():
            header = block.header.copy(extra_data=extra.with_seals(seals).encode())
            forged = block.copy(header=header)
            self._broadcast("forge_seals", m.encode(m.NewBlock(rlp.encode(forged))))
