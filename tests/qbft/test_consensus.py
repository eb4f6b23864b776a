"""QBFT in one process: four validators and a member on the in-memory hub, real chains and pools."""

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


def test_one_down_continues_two_down_halts_without_fork_then_recovers(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4)
        await net.start()
        try:
            await net.wait_height(2)
            await net.nodes[3].stop()
            h = max(n.height for n in net.running())
            await net.wait_height(h + 3)  # 3 of 4 is a quorum: blocks continue
            await net.nodes[2].stop()
            await asyncio.sleep(0.5)
            halted = [n.height for n in net.running()]
            await asyncio.sleep(2.5)
            assert max(n.height for n in net.running()) == max(halted)  # 2 of 4: no quorum, no blocks
            await net.nodes[2].restart()
            await net.nodes[3].restart()
            await net.wait_height(max(halted) + 2, timeout=30)
            net.assert_same_chain(net.nodes)
        finally:
            await net.stop()

    run(scenario())


def test_crashed_validator_restarts_and_catches_up_by_sync(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4)
        await net.start()
        try:
            await net.wait_height(2)
            for node in net.nodes:
                node.txpool.add(transfer(0))
            await net.wait_height(3)
            crashed = net.nodes[1]
            await crashed.stop()
            h = max(n.height for n in net.running())
            await net.wait_height(h + 5)
            await crashed.restart()
            await net.wait_height(h + 7, [crashed], timeout=30)
            net.assert_same_chain(net.nodes)
            assert crashed.engine.stats["imported"] >= 4  # it caught up by sync, then agreed
            tx_hash = crashed.txpool.decode(transfer(0)).hash
            assert crashed.chain.get_transaction_location(tx_hash) is not None
        finally:
            await net.stop()

    run(scenario())


def test_validator_added_and_removed_by_vote(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4, n_members=1)
        await net.start()
        try:
            newcomer = net.nodes[4]
            new_addr = "0x" + newcomer.address.hex()
            for node in net.nodes[:4]:
                assert node.rpc_call("qbft_proposeValidatorVote", new_addr, True) is True
            assert net.nodes[0].rpc_call("qbft_getPendingVotes") == {new_addr: True}
            for bad in (("0x12", True), (new_addr, "yes"), (42, False)):
                with pytest.raises(RpcError) as err:
                    net.nodes[0].rpc_call("qbft_proposeValidatorVote", *bad)
                assert err.value.code == INVALID_PARAMS

            async def until(predicate, timeout=30.0):
                for _ in range(int(timeout / 0.05)):
                    if predicate():
                        return
                    await asyncio.sleep(0.05)
                raise AssertionError("condition not reached")

            await until(
                lambda: new_addr in net.nodes[0].rpc_call("qbft_getValidatorsByBlockNumber", "latest")
            )
            await until(lambda: newcomer.engine.hm is not None)  # it joined consensus
            assert net.nodes[0].rpc_call("qbft_getValidatorsByBlockNumber", "0x0") == [
                "0x" + v.hex() for v in sorted(n.address for n in net.nodes[:4])
            ]
            assert net.nodes[0].rpc_call("qbft_getPendingVotes") == {}  # included votes drop out

            # now remove one of the founders: a majority of the five must vote
            leaver = net.nodes[3]
            gone = "0x" + leaver.address.hex()
            for node in net.nodes[:3] + [newcomer]:
                node.rpc_call("qbft_proposeValidatorVote", gone, False)
            await until(
                lambda: gone not in net.nodes[0].rpc_call("qbft_getValidatorsByBlockNumber", "latest")
            )
            h = net.nodes[0].height
            await net.nodes[3].stop()  # the removed validator is not needed any more
            await net.wait_height(h + 3)
            net.assert_same_chain()
            status = newcomer.rpc_call("qbft_getStatus")
            assert status["validator"] is True and len(status["validators"]) == 4
        finally:
            await net.stop()

    run(scenario())


def test_split_never_finalises_two_blocks_at_one_height_and_heals(tmp_path):
    async def scenario():
        net = Consortium(tmp_path, 4)
        await net.start()
        try:
            await net.wait_height(2)
            ids = ["0x" + n.address.hex() for n in net.nodes]
            net.hub.partition(ids[:2], ids[2:])  # 2 | 2: neither side has a quorum
            await asyncio.sleep(0.5)
            frozen = [n.height for n in net.nodes]
            await asyncio.sleep(3)
            assert max(n.height for n in net.nodes) == max(frozen)
            net.hub.heal()
            await net.wait_height(max(frozen) + 3, timeout=40)
            net.assert_same_chain(net.nodes)
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
