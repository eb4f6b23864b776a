"""QBFT in one process: four validators and a member on the in-memory hub, real chains and pools."""

from __future__ import annotations

import asyncio

import pytest

from node.qbft.extradata import ExtraData
from tests.qbft.harness import Consortium, transfer

pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(coro)


def test_four_validators_and_a_member_agree_and_include_transactions(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4, n_members=1)
        await net.start()
        try:
            await net.wait_height(2)
            net.nodes[4].txpool.add(transfer(0))  # submitted at the member node
            for node in net.nodes[:4]:  # (transaction gossip is the network layer's job)
                node.txpool.add(transfer(0))
            await net.wait_height(5)
            net.assert_same_chain()
            found = net.nodes[4].chain.get_transaction_location(net.nodes[0].txpool.decode(transfer(0)).hash)
            assert found is not None
            head = net.nodes[0].chain.head
            extra = ExtraData.decode(head.extra_data)
            assert len(extra.seals) >= 3
            net.nodes[0].engine.rules.verify_seals(head)
        finally:
            await net.stop()

    run(scenario())
