"""A byzantine validator (one of four, so f = 1) changes nothing: equivocating proposals, forged
and missing seals, a non-allowlisted transaction in its block, garbage bytes and replays."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account

from harness.byzantine import ByzantineEngine
from node.abc import AccountFilterAPI
from node.qbft.extradata import ExtraData
from tests.qbft.harness import FUNDED, Consortium, transfer

pytestmark = pytest.mark.timeout(90)

OUTSIDER_KEY = b"\x42" * 32
OUTSIDER = Account.from_key(OUTSIDER_KEY).address


class AllowOnly(AccountFilterAPI):
    def __init__(self, *addresses: str) -> None:
        self.allowed = {bytes.fromhex(a[2:].lower()) for a in addresses}

    def is_allowed(self, sender, chain, header=None) -> bool:
        return bytes(sender) in self.allowed


@pytest.mark.parametrize(
    "attacks",
    [{"equivocate", "forge_seals", "garbage", "replay"}, {"bad_tx"}],
    ids=["equivocate-forge-garbage-replay", "non-allowlisted-tx"],
)
def test_byzantine_validator_changes_nothing(tmp_path, attacks):
    async def scenario():
        net = Consortium(tmp_path, 4, funded=(OUTSIDER,))  # funded, but not allowlisted
        honest, villain = net.nodes[:3], net.nodes[3]
        for node in honest:
            node.chain.account_filter = node.txpool.account_filter = AllowOnly(FUNDED)
        villain.txpool.add(transfer(0))  # a valid tx, so the villain's pool is not empty
        forbidden = villain.txpool.decode(transfer(0, key=OUTSIDER_KEY, value=0))
        villain.producer = villain.engine = ByzantineEngine(
            villain.network,
            villain.key,
            net.config,
            attacks=attacks,
            forbidden_txs=[forbidden],
            noise_every=2,
        )
        await net.start()
        try:
            await net.wait_height(8, honest, timeout=60)
            sent = villain.engine.sent_attacks
            assert all(sent[a] >= 1 for a in attacks), sent
            reasons = " ".join(r for n in honest for _, r in n.network.punished)
            if "equivocate" in attacks:
                assert "equivocating proposal" in reasons
            if "forge_seals" in attacks:
                assert "duplicate commit seals" in reasons and "seal by non-validator" in reasons
                assert "0 commit seals, quorum is 3" in reasons
            if "bad_tx" in attacks:
                assert "not on the allowlist" in reasons
            net.assert_same_chain(honest)
            top = min(n.height for n in honest)
            for number in range(1, top + 1):
                block = honest[0].chain.get_block_by_number(number)
                assert all(tx.sender != bytes.fromhex(OUTSIDER[2:]) for tx in block.transactions)
                honest[0].engine.rules.verify_seals(block.header)  # every final block: a quorum of seals
            assert any(n.engine.stats["rejected"] for n in honest)
            assert any(n.network.punished for n in honest)

            # replayed messages from earlier heights, fed straight to an engine past the gossip
            # de-duplication: nothing moves, nothing is signed twice
            before = [n.chain.block_hash(n.chain.head) for n in honest]
            heights = [n.height for n in honest]
            for old in villain.engine.history:
                async with honest[0].chain.execution.lock:
                    await honest[0].engine.controller.handle("0x" + villain.address.hex(), old)
            for n, h0, b0 in zip(honest, heights, before, strict=True):
                assert n.chain.block_hash(n.chain.get_header_by_number(h0)) == b0
            await net.wait_height(top + 2, honest)
            net.assert_same_chain(honest)
            assert ExtraData.decode(honest[0].chain.head.extra_data).seals
        finally:
            await net.stop()

    asyncio.run(scenario())


def test_import_refuses_a_sealed_block_with_a_non_allowlisted_sender(tmp_path):
    """Even with a quorum of seals (a byzantine majority), a block carrying a sender off the allowlist
    is not imported: the import path checks permissioning too (Besu's does not)."""

    async def scenario():
        from node.errors import InvalidBlock
        from node.qbft.extradata import seal_digest
        from node.qbft.keys import Signer

        net = Consortium(tmp_path, 4, funded=(OUTSIDER,))
        follower, builder = net.nodes[0], net.nodes[3]
        follower.chain.account_filter = follower.txpool.account_filter = AllowOnly(FUNDED)
        await follower.start()  # alone: no quorum, the head stays at genesis
        try:
            validators = tuple(sorted(Signer(k).address for k in net.validator_keys))
            head = builder.chain.head

            def sealed_block(txs):
                extra = ExtraData(validators, None, 0)
                block, _ = builder.chain.build_block(txs, head.timestamp + 1, extra.encode(), builder.address)
                digest = seal_digest(block.header)
                seals = tuple(Signer(k).sign(digest) for k in net.validator_keys[:3])
                return block.copy(header=block.header.copy(extra_data=extra.with_seals(seals).encode()))

            forbidden = builder.txpool.decode(transfer(0, key=OUTSIDER_KEY, value=0))
            bad = sealed_block([forbidden])
            assert len(bad.transactions) == 1
            with pytest.raises(InvalidBlock, match="not on the allowlist"):
                follower.engine.import_block(bad)
            assert follower.height == 0
            good = sealed_block([builder.txpool.decode(transfer(0))])
            follower.engine.import_block(good)  # the same path accepts an allowed sender
            assert follower.height == 1
        finally:
            await net.stop()

    asyncio.run(scenario())
