"""QBFT in one process: four validators and a member on the in-memory hub, real chains and pools.

What needs the engine's insides or tight timing stays here; fault scenarios (nodes down, splits,
crashes and sync, votes, a byzantine validator) run over real processes as manifests in tests/e2e/.
"""

from __future__ import annotations

import asyncio

import pytest

from node.errors import INVALID_PARAMS, RpcError
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


def test_validator_votes_are_checked_and_listed(tmp_path):
    """qbft_proposeValidatorVote refuses malformed input with INVALID_PARAMS and lists what it took;
    votes taking effect is a scenario over processes: tests/e2e/manifests/vote_add_remove.toml."""

    async def scenario():
        net = Consortium(tmp_path, 4, n_members=1)
        node, newcomer = net.nodes[0], "0x" + net.nodes[4].address.hex()
        await node.start()  # alone: no quorum, nothing is committed
        try:
            assert node.rpc_call("qbft_proposeValidatorVote", newcomer, True) is True
            assert node.rpc_call("qbft_getPendingVotes") == {newcomer: True}
            for bad in (("0x12", True), (newcomer, "yes"), (42, False)):
                with pytest.raises(RpcError) as err:
                    node.rpc_call("qbft_proposeValidatorVote", *bad)
                assert err.value.code == INVALID_PARAMS
            assert node.rpc_call("qbft_discardValidatorVote", newcomer) is True
            assert node.rpc_call("qbft_getPendingVotes") == {}
            assert node.rpc_call("qbft_getValidatorsByBlockNumber", "0x0") == [
                "0x" + v.hex() for v in sorted(n.address for n in net.nodes[:4])
            ]
        finally:
            await net.stop()

    run(scenario())


def test_no_empty_blocks_but_the_heartbeat_and_a_prompt_block_for_a_transaction(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4, block_period=0.2, empty_block_period=1.5)
        await net.start()
        try:
            await net.wait_height(1)
            start = net.nodes[0].height
            await asyncio.sleep(3.2)
            idle = net.nodes[0].height - start
            assert 1 <= idle <= 3  # heartbeats every 1.5 s, not a block every 0.2 s
            for number in range(start + 1, net.nodes[0].height + 1):
                assert not net.nodes[0].chain.get_block_by_number(number).transactions
            await asyncio.sleep(0.3)
            t0 = asyncio.get_running_loop().time()
            for node in net.nodes:
                node.txpool.add(transfer(0))
            while not net.nodes[0].chain.get_transaction_location(
                net.nodes[0].txpool.decode(transfer(0)).hash
            ):
                await asyncio.sleep(0.02)
            assert asyncio.get_running_loop().time() - t0 < 1.2  # about one block period, not 1.5 s
        finally:
            await net.stop()

    run(scenario())


def test_a_restarted_validator_keeps_its_lock(tmp_path):
    """Prepared (locked) at height 1, then a crash: after the restart its round change still carries
    the locked block, so the lock survives the crash as QBFT's safety argument assumes."""

    async def scenario():
        from node.qbft import messages as m
        from node.qbft.extradata import block_hash
        from node.qbft.keys import Signer
        from node.qbft.round import PreparedCertificate

        net = Consortium(tmp_path, 4)
        node = net.nodes[0]
        await node.start()  # alone: nothing becomes final
        try:
            block = node.engine.create_block(0)
            digest = block_hash(block.header)
            prepares = tuple(
                m.Prepare.create(m.RoundId(1, 0), digest, Signer(k)) for k in net.validator_keys[:3]
            )
            node.engine.lock(1, PreparedCertificate(0, block, digest, prepares))
            await node.stop()
            await node.restart()
            hm = node.engine.hm
            assert hm.height == 1 and hm.prepared is not None and hm.prepared.digest == digest
            hm.on_timeout(0)
            mine = hm.round_changes[1][node.address]
            assert mine.payload.prepared == (0, digest) and len(mine.prepares) == 3
        finally:
            await net.stop()

    run(scenario())
