"""Row: one transaction's gas, on a network of real node processes of its own (4 validators and a
member node; the shared consortium's chain stays free of heavy blocks, which the sync test would
import again):

- transactions at the cap spent in BN254 or BLS12-381 pairings commit about as fast as one spent
  in plain opcodes, side by side (Hubao's precompile prices, config.hubao.precompilePrices);
- transactions at the cap fill blocks by their gas, not their count (node/qbft/executed.py), and
  every node executes heavy blocks off its event loop (node/offloop.py): an honest client's
  `eth_blockNumber` is answered within 200 ms p99 on a validator and on the member node meanwhile;
- a validator that proposes a block with a transaction over the chain's cap
  (config.hubao.txGasLimitCap) is refused by the others, with the reason in their logs, and the
  chain goes on without it; a client of the chain sizes its batches by the cap it reports.

The byzantine test runs last: its validator stays banned for a while.
"""

from __future__ import annotations

import time

import pytest
from web3 import Web3

from consortium.client.tx import tx_gas_cap
from consortium.network.genesis import QbftSettings
from harness.peernet import log_lines, start_network
from harness.precompile_inputs import BURN, HEAVY, loop_calling
from harness.probes import wait_for_blocks
from node.genesis import TX_GAS_LIMIT_CAP
from tests.hostile.conftest import answered_honestly, honest_client

HEAVY_TXS = 5  # at the cap, sent at once
ROUND_TIMER = QbftSettings().requesttimeoutseconds  # what `hubao net init` writes by default


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    net = start_network(tmp_path_factory.mktemp("execution-rules"), members=1)
    try:
        yield net
    finally:
        net.down()


def test_precompile_heavy_transactions_cost_the_network_what_plain_ones_do(network):
    """Side by side on the 4-validator network, one at a time: a transaction at the cap spent in
    BN254 or BLS12-381 pairings commits about as fast as one spent in a loop of plain opcodes (at
    Ethereum's prices a pairing one was 60-90 s of every validator: it would not commit at all
    within the test's minute). Four validators share two cores here, so a heavy block is ~2x its
    single-core time for each, and a round change now and then is this machine's, not the rule's."""
    net = network
    url = net.url("validator-0")
    users = net.accounts["users"]
    plain = ("plain opcodes", None, BURN, 0)
    runs = [plain, *(h for h in HEAVY if h[0] in ("BN254 PAIRING", "BLS12 PAIRING")), plain]
    took: dict[str, float] = {}
    honest_tx = net.send_tx("validator-2", users[1]["privateKey"], users[2]["address"], value=1)
    for name, address, data, _ in runs:
        code = data if address is None else loop_calling(address, data)
        started = time.monotonic()
        tx_hash = net.send_tx("validator-1", users[3]["privateKey"], None, data="0x" + code.hex(),
                              gas=TX_GAS_LIMIT_CAP)  # fmt: skip
        receipt = net.receipt("validator-0", tx_hash, timeout=60)
        took[name] = max(took.get(name, 0.0), round(time.monotonic() - started, 2))
        assert int(receipt["gasUsed"], 16) == TX_GAS_LIMIT_CAP, name
    honest = net.receipt("validator-0", honest_tx)
    wait_for_blocks(url, 2, 30)  # and the chain goes on
    assert int(honest["status"], 16) == 1
    assert all(took[name] < 3 * took["plain opcodes"] + ROUND_TIMER for name in took), took


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
    assert len({r["blockNumber"] for r in receipts}) > 1  # 25M gas is not one block's execution
    answered_honestly(on_validator)
    answered_honestly(on_member)


def test_a_validator_proposing_an_over_cap_transaction_is_refused_by_the_others(network):
    net = network
    url = net.url("validator-0")
    user = net.accounts["users"][0]
    rules = net.call("validator-0", "eth_config")["current"]["hubao"]
    assert rules == {"txGasLimitCap": hex(TX_GAS_LIMIT_CAP), "precompilePrices": "hubao-1"}
    net.byzantine("validator-3", ["over_cap"], extra=("--over-cap-key", user["privateKey"]))
    honest = ("validator-0", "validator-1", "validator-2")
    deadline = time.monotonic() + 120  # until it is the proposer of a height the others are at
    while not all(log_lines(net, name, "above the chain's cap per transaction") for name in honest):
        assert time.monotonic() < deadline, "no honest validator refused an over-cap proposal"
        time.sleep(0.2)
    assert net.attacks_sent("validator-3").get("over_cap", 0) >= 1
    for name in honest:  # the proposer is punished, with the reason (once per ban)
        lines = log_lines(net, name, "above the chain's cap per transaction")
        assert "punishing peer" in lines[0], lines
        assert f"asks {TX_GAS_LIMIT_CAP + 1} gas" in lines[0] and "proposed block is invalid" in lines[0]
    wait_for_blocks(url, 4, 60)  # three honest validators are a quorum: the chain goes on
    assert net.call("validator-0", "eth_getTransactionCount", user["address"], "latest") == "0x0"
    head = int(net.call("validator-0", "eth_blockNumber"), 16)
    blocks = [net.call("validator-0", "eth_getBlockByNumber", hex(n), True) for n in range(1, head + 1)]
    assert all(int(tx["gas"], 16) <= TX_GAS_LIMIT_CAP for b in blocks for tx in b["transactions"])
    # a client of this chain sizes its batches by the cap the node reports
    w3 = Web3(Web3.HTTPProvider(url))
    assert tx_gas_cap(w3) == TX_GAS_LIMIT_CAP
