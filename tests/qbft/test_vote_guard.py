"""The consensus guard (issue 12): a vote to add a validator may only name a node on the on-chain
node allowlist. With real processes: qbft_proposeValidatorVote refuses a stranger with a reason,
and a validator whose proposals carry such a vote is refused by the others, so no final block
ever names the stranger."""

from __future__ import annotations

import pytest

from harness.byzantine import STRANGER
from harness.network import Network, NetworkSpec
from node.qbft.extradata import ExtraData

pytestmark = pytest.mark.timeout(240)


def test_votes_may_only_name_allowlisted_nodes(tmp_path):
    net = Network.up(tmp_path / "net", NetworkSpec())
    stranger = "0x" + STRANGER.hex()
    try:
        with pytest.raises(RuntimeError, match="not on the node allowlist"):
            net.call("validator-0", "qbft_proposeValidatorVote", stranger, True)
        assert net.call("validator-0", "qbft_getPendingVotes") == {}
        member = net.by_name["member-0"].node_id.lower()
        assert net.call("validator-0", "qbft_proposeValidatorVote", member, True) is True
        assert net.call("validator-0", "qbft_proposeValidatorVote", stranger, False) is True  # drops: always
        assert net.call("validator-0", "qbft_getPendingVotes") == {member: True, stranger: False}
        for address in (member, stranger):
            net.call("validator-0", "qbft_discardValidatorVote", address)
        assert net.call("validator-0", "qbft_getPendingVotes") == {}

        honest = ["validator-0", "validator-1", "validator-2", "member-0"]
        offsets = {n: net.log_path(n).stat().st_size for n in honest}

        def honest_logs() -> str:
            out = []
            for name in honest:
                with open(net.log_path(name), "rb") as f:
                    f.seek(offsets[name])
                    out.append(f.read().decode(errors="replace"))
            return "".join(out)

        net.byzantine("validator-3", ["bad_vote"])
        net.wait(
            lambda: (
                net.attacks_sent("validator-3").get("bad_vote", 0) >= 1
                and "which is not on the node allowlist" in honest_logs()
            ),
            150,
            "the villain's proposal with a vote for a stranger, refused",
        )
        net.wait_height(net.top(honest) + 2, honest, timeout=60)
        net.restore()  # validator-3 honest again
        top = net.assert_one_chain(honest)
        for number in range(1, top + 1):
            block = net.call("validator-0", "eth_getBlockByNumber", hex(number), False)
            vote = ExtraData.decode(bytes.fromhex(block["extraData"][2:])).vote
            assert vote is None or vote.recipient != STRANGER
        assert stranger not in net.call("validator-0", "qbft_getValidatorsByBlockNumber", "latest")
    finally:
        net.down()


def test_a_sealed_block_voting_for_a_stranger_is_not_imported(tmp_path):
    """Even with a quorum of seals (a byzantine majority), the importer (sync, NEW_BLOCK, `hubao node
    import`) refuses a block whose vote adds a node off the allowlist; an allowlisted one passes."""
    import asyncio

    from node.errors import InvalidBlock
    from node.qbft.extradata import Vote, seal_digest
    from node.qbft.keys import Signer
    from tests.qbft.harness import Consortium

    async def scenario():
        net = Consortium(tmp_path, 4)
        follower, builder = net.nodes[0], net.nodes[3]
        friend = b"\x77" * 20
        follower.engine.node_filter = lambda address, header: address == friend
        await follower.start()  # alone: no quorum, the head stays at genesis
        try:
            validators = tuple(sorted(Signer(k).address for k in net.validator_keys))
            head = builder.chain.head

            def sealed_block(vote):
                extra = ExtraData(validators, vote, 0)
                block, _ = builder.chain.build_block([], head.timestamp + 1, extra.encode(), builder.address)
                digest = seal_digest(block.header)
                seals = tuple(Signer(k).sign(digest) for k in net.validator_keys[:3])
                return block.copy(header=block.header.copy(extra_data=extra.with_seals(seals).encode()))

            with pytest.raises(InvalidBlock, match="not on the node allowlist"):
                follower.engine.import_block(sealed_block(Vote(STRANGER, True)))
            assert follower.height == 0
            follower.engine.import_block(sealed_block(Vote(friend, True)))
            assert follower.height == 1
        finally:
            await net.stop()

    asyncio.run(scenario())
