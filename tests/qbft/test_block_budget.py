"""A proposer's block is sized by the execution it costs (node/qbft/executed.py): by the gas its
transactions ask against the speed this node measured, and by their count, so that every
validator executes it well inside the round timer however heavy each transaction is."""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account

from harness.precompile_inputs import BURN
from node.genesis import TX_GAS_LIMIT_CAP
from tests.qbft.harness import CHAIN_ID, FUNDED_KEY, Consortium, transfer

pytestmark = pytest.mark.timeout(120)
BUDGET = 0.25  # seconds of execution per block (`maxblockexecutionseconds`)


def burn(nonce: int) -> bytes:
    tx = {"type": 2, "chainId": CHAIN_ID, "nonce": nonce, "gas": TX_GAS_LIMIT_CAP, "data": BURN,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}  # fmt: skip
    return bytes(Account.sign_transaction(tx, FUNDED_KEY).raw_transaction)


def test_heavy_transactions_fill_a_block_by_gas_and_light_ones_by_count(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4, max_block_seconds=BUDGET)
        node = net.nodes[0]
        await node.start()  # alone: nothing becomes final, the pool stays as it is
        try:
            for nonce in range(12):
                node.txpool.add(burn(nonce))
            sizes = [len(node.engine.create_block(0).transactions) for _ in range(4)]  # learning
            # py-evm runs well under 40 million gas a second, so 0.25 s holds at most two of 5M
            # (the count rule alone gave 6: the block gas limit over 5M)
            assert 1 <= sizes[-1] <= 2, sizes
            executed = node.engine.executed
            assert sizes[-1] <= max(1, executed.max_gas(BUDGET, TX_GAS_LIMIT_CAP) // TX_GAS_LIMIT_CAP)
        finally:
            await net.stop()
        light = Consortium(tmp_path / "light", 4, max_block_seconds=BUDGET)
        node = light.nodes[0]
        await node.start()
        try:
            for nonce in range(40):
                node.txpool.add(transfer(nonce))
            sizes = [len(node.engine.create_block(0).transactions) for _ in range(3)]
            assert sizes[-1] >= 16, sizes  # a transfer asks 21,000 gas: the count floor holds
        finally:
            await light.stop()

    asyncio.run(scenario())
