"""A misbehaving validator for consensus tests: a QBFT engine that breaks the rules on purpose.

Attacks (any combination):
  equivocate  as proposer, send a second, different block for the same height and round
  forge_seals as proposer, announce its block as committed with forged, duplicated or missing
              commit seals (NEW_BLOCK)
  bad_tx      as proposer, put a transaction from an account that is not allowlisted in its block
  garbage     send random bytes on the consensus topic now and then
  replay      re-send consensus messages from earlier heights
  bad_vote    (only when asked for) as proposer, vote to add a node that is not on the node allowlist
  over_cap    (only when asked for) as proposer, put an allowlisted account's transaction asking more
              gas than the chain's cap per transaction (config.hubao.txGasLimitCap) in its block
It ignores its own sign log (a byzantine node signs whatever it likes). It is the honest engine with
three of its rooms overridden: the sign log (`guard`), the block creator (`create_block`) and the
message transmitter (`send`).
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
OPT_IN = frozenset({"bad_vote", "over_cap"})
STRANGER = bytes.fromhex("5e" * 20)  # a node no allowlist names


class ByzantineEngine(QbftEngine):
    def __init__(
        self,
        *args: Any,
        attacks: set[str] = ATTACKS,
        forbidden_txs: list[Any] = (),
        noise_every: int = 25,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.noise_every = noise_every
        self.attacks = set(attacks)
        self.forbidden_txs = list(forbidden_txs)
        self.history: list[bytes] = []  # what it saw on the wire, for replays
        self.sent_attacks: dict[str, int] = {a: 0 for a in ATTACKS | OPT_IN}
        if "bad_vote" in self.attacks:
            self.votes.propose(STRANGER, True)

    async def start(self, node: Any) -> None:
        self.node_filter = None  # a byzantine proposer ignores the node allowlist
        await super().start(node)

    def guard(self, height: int, round_: int, kind: str, digest: bytes) -> None:
        return None

    async def _on_gossip(self, peer: str, data: bytes) -> None:
        self.history.append(data)
        del self.history[:-500]
        await super()._on_gossip(peer, data)

    def create_block(self, round_: int) -> Any | None:
        kind = "over_cap" if "over_cap" in self.attacks else "bad_tx"
        if kind not in self.attacks or not self.forbidden_txs:
            return super().create_block(round_)
        extra = self.creator.extra_data(self.chain.head.block_number + 1, round_)
        block, _ = self.chain.build_block(
            self.forbidden_txs, self.creator.timestamp(), extra, coinbase=self.address
        )
        if block.transactions:
            self.sent_attacks[kind] += 1
        return block

    def _broadcast(self, attack: str, payload: bytes) -> None:
        self.sent_attacks[attack] += 1
        self.network.broadcast(TOPIC_QBFT, payload)

    def send(self, message: Any) -> None:
        super().send(message)
        self._sends = getattr(self, "_sends", 0) + 1
        if self._sends % self.noise_every == 0:  # now and then: honest peers drop it for a while
            self._noise()
        if not isinstance(message, m.Proposal):
            return
        block = self.decode_block(message.block_rlp)
        vote = ExtraData.decode(block.header.extra_data).vote
        if vote is not None and vote.recipient == STRANGER:
            self.sent_attacks["bad_vote"] += 1
        if "equivocate" in self.attacks:
            other, _ = self.chain.build_block(
                [], block.header.timestamp + 1, block.header.extra_data, coinbase=self.address
            )
            twin = m.Proposal.create(message.rid, rlp.encode(other), self.signer)
            self._broadcast("equivocate", m.encode(twin))
        if "forge_seals" in self.attacks:
            self._forge_seals(block)

    def _noise(self) -> None:
        if "garbage" in self.attacks:
            self._broadcast("garbage", os.urandom(64))
            self._broadcast("garbage", bytes([m.PREPARE]) + os.urandom(100))
        if "replay" in self.attacks and self.history:
            for old in self.history[:20]:
                self.network.broadcast(TOPIC_QBFT, old)
            self.sent_attacks["replay"] += 1

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


def signed_now(chain: Any, key: bytes, **fields: Any) -> Any:
    """A transaction of `key`'s account signed now (nonce from head, fees that pay the next block)."""
    from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
    from eth_account import Account

    head = chain.head
    sender = bytes.fromhex(Account.from_key(key).address[2:])
    base_fee = calculate_expected_base_fee_per_gas(head)
    tx = {
        "type": 2,
        "chainId": chain.chain_id,
        "nonce": chain.state_at(head).get_nonce(sender),
        "maxFeePerGas": 2 * base_fee + 10**9,
        "maxPriorityFeePerGas": 10**9,
        **fields,
    }
    return chain.decode_transaction(bytes(Account.sign_transaction(tx, key).raw_transaction))


def outsider_transfer(chain: Any, key: bytes) -> Any:
    """A funded account's transfer: the account is not allowlisted."""
    return signed_now(chain, key, to="0x" + "00" * 19 + "01", value=1, gas=21000)


def over_cap_transfer(chain: Any, key: bytes) -> Any:
    """An allowlisted account's transfer asking 1 gas more than the chain's cap per transaction
    (a transfer, so that building the block stays quick: the rule is about the gas asked)."""
    return signed_now(chain, key, to="0x" + "00" * 19 + "01", value=1, gas=chain.tx_gas_cap + 1)


def main(argv: list[str] | None = None) -> None:
    """Run a consortium node (`hubao node run --config`) whose engine is a ByzantineEngine."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True)
    parser.add_argument("--attacks", default=",".join(sorted(ATTACKS)))
    parser.add_argument("--outsider-key", default="", help="hex key of a funded account off the allowlist")
    parser.add_argument("--over-cap-key", default="", help="hex key of a funded allowlisted account")
    args = parser.parse_args(argv)
    attacks = {a for a in args.attacks.split(",") if a}
    outsider = bytes.fromhex(args.outsider_key.removeprefix("0x")) if args.outsider_key else None
    over_cap = bytes.fromhex(args.over_cap_key.removeprefix("0x")) if args.over_cap_key else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import node.qbft.engine as engine_module

    class Configured(ByzantineEngine):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, attacks=attacks, **kw)
            self.outsider_key = outsider

        def create_block(self, round_: int) -> Any | None:
            if self.outsider_key and "bad_tx" in self.attacks:
                self.forbidden_txs = [outsider_transfer(self.chain, self.outsider_key)]
            if over_cap and "over_cap" in self.attacks:
                self.forbidden_txs = [over_cap_transfer(self.chain, over_cap)]
            saved = getattr(self.chain, "account_filter", None), self.chain.tx_gas_cap
            self.chain.account_filter = None  # a byzantine builder ignores the allowlist
            self.chain.tx_gas_cap = None  # and the chain's gas cap per transaction
            try:
                return super().create_block(round_)
            finally:
                self.chain.account_filter, self.chain.tx_gas_cap = saved

        def send(self, message: Any) -> None:
            super().send(message)
            logging.getLogger("byzantine").info("attacks so far: %s", self.sent_attacks)

    engine_module.QbftEngine = Configured
    from consortium.nodes.cli import run_from_config

    run_from_config(args.config)


if __name__ == "__main__":
    main()
