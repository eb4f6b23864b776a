"""The harness's nodes are the node core every node kind assembles: after a commit each pool drops
what the block included (the core does it, not the engine), and the core's filters see the blocks."""

from __future__ import annotations

import asyncio

import pytest

from tests.qbft.harness import Consortium, transfer

pytestmark = pytest.mark.timeout(60)


def test_every_core_prunes_its_pool_and_feeds_its_filters_after_a_commit(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4, n_members=1)
        member = net.nodes[4]
        blocks = member.rpc_call("eth_newBlockFilter")
        await net.start()
        try:
            for node in net.nodes:  # (no transaction gossip in process: every pool gets it)
                node.txpool.add(transfer(0))
            tx_hash = member.txpool.decode(transfer(0)).hash
            deadline = asyncio.get_running_loop().time() + 20
            while member.chain.get_transaction_location(tx_hash) is None:
                assert asyncio.get_running_loop().time() < deadline, "the transfer was not included"
                await asyncio.sleep(0.05)
            await net.wait_height(member.height)
            assert [len(node.txpool) for node in net.nodes] == [0] * 5
            hashes = member.rpc_call("eth_getFilterChanges", blocks)
            assert len(hashes) == member.height
            assert hashes[-1] == "0x" + member.chain.head.hash.hex()
        finally:
            await net.stop()

    asyncio.run(scenario())
