"""Every block Hubao builds carries Besu's QBFT header constants, a block without them is refused
with Besu's rule named, and a datadir from before the change is refused with a clear reason."""

from __future__ import annotations

import asyncio

import pytest

from node.errors import InvalidBlock, NodeError
from node.qbft.extradata import BFT_MIX_HASH, ExtraData, seal_digest
from node.qbft.keys import Signer
from tests.qbft.harness import Consortium

pytestmark = pytest.mark.timeout(90)


def test_blocks_carry_besu_constants_and_breaking_them_is_refused(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4)
        builder, follower = net.nodes[3], net.nodes[0]
        await follower.start()  # alone: the head stays at genesis
        try:
            validators = tuple(sorted(Signer(k).address for k in net.validator_keys))
            head = builder.chain.head
            extra = ExtraData(validators, None, 0)
            block, _ = builder.chain.build_block([], head.timestamp + 1, extra.encode(), builder.address)
            header = block.header
            assert (header.difficulty, header.mix_hash, header.nonce) == (1, BFT_MIX_HASH, b"\0" * 8)
            assert header.parent_beacon_block_root == b"\0" * 32

            def sealed(**fields):
                h = header.copy(**fields)
                seals = tuple(Signer(k).sign(seal_digest(h)) for k in net.validator_keys[:3])
                return block.copy(header=h.copy(extra_data=extra.with_seals(seals).encode()))

            for fields, words in (
                ({"difficulty": 0}, "difficulty must be 1"),
                ({"mix_hash": b"\0" * 32}, "mix_hash must be 0x6374"),
                ({"parent_beacon_block_root": b"\x56" * 32}, "parent_beacon_block_root must be 0x00"),
            ):
                with pytest.raises(InvalidBlock, match=words):
                    follower.engine.import_block(sealed(**fields))
            assert follower.height == 0
            follower.engine.import_block(sealed())
            assert follower.height == 1
        finally:
            await net.stop()

    asyncio.run(scenario())


def test_a_datadir_from_before_the_change_is_refused(tmp_path):
    """Earlier Hubao wrote block 0 with difficulty 0 and py-evm's nonce 0x42: the engine will not
    continue such a chain (its hashes are not Besu's), and says why."""
    import dataclasses

    from node.chain import Chain
    from node.qbft.engine import PRE_BESU_GENESIS_NONCE, refuse_pre_besu_chain
    from node.qbft.rules import QbftRules
    from node.storage import Store
    from tests.qbft.harness import keys, make_genesis

    genesis = make_genesis(keys(4))
    refuse_pre_besu_chain(Chain(Store(str(tmp_path / "new")), genesis, rules=QbftRules()))
    old = dataclasses.replace(genesis, nonce=int.from_bytes(PRE_BESU_GENESIS_NONCE, "big"))
    chain = Chain(Store(str(tmp_path / "old")), old, rules=QbftRules())
    with pytest.raises(NodeError, match="made before Hubao's blocks became Besu's"):
        refuse_pre_besu_chain(chain)
