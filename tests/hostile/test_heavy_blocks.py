"""Rows: one transaction's gas and QBFT blocks, on a network of real node processes of its own
(4 validators and a member node). Transactions at the chain's cap (5M gas spent in a loop of plain
opcodes) fill the pool: a proposer sizes its block by the gas its transactions ask against the
speed it measured (node/qbft/executed.py), not by their count, and every node executes blocks on
its execution thread (node/offloop.py), so an honest client's `eth_blockNumber` is answered within
200 ms p99 on a validator and on the member node while they run, and every one is committed.
"""

from __future__ import annotations

import pytest

from harness.precompile_inputs import BURN
from node.genesis import TX_GAS_LIMIT_CAP
from tests.hostile.conftest import answered_honestly, honest_client, network_of_its_own

HEAVY_TXS = 10


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    with network_of_its_own(tmp_path_factory, "heavy-blocks", members=1) as net:
        yield net


def test_json_rpc_answers_while_heavy_blocks_execute(network):
    net = network
    users = net.accounts["users"]
    honest_tx = net.send_tx("validator-2", users[1]["privateKey"], users[2]["address"], value=1)
    with (
        honest_client(net.url("validator-0")) as on_validator,
        honest_client(net.url("member-0")) as on_member,
    ):
        hashes = [
            net.send_tx(
                "validator-1", users[3]["privateKey"], None, data="0x" + BURN.hex(), gas=TX_GAS_LIMIT_CAP
            )
            for _ in range(HEAVY_TXS)
        ]
        receipts = [net.receipt("member-0", tx_hash, timeout=120) for tx_hash in hashes]
    assert all(int(r["gasUsed"], 16) == TX_GAS_LIMIT_CAP for r in receipts)
    assert int(net.receipt("member-0", honest_tx)["status"], 16) == 1
    assert len({r["blockNumber"] for r in receipts}) > 1  # 50M gas does not go in one block
    answered_honestly(on_validator)
    answered_honestly(on_member)
