"""Row: one transaction's gas. A transaction asking for more gas than the node's cap (5M by
default, so a block of one executes well inside QBFT's round timer) is refused at JSON-RPC with
geth's text and, from a peer, at gossip with the same reason logged once per peer; a network
attacked with 20M-gas transactions keeps its block rate and commits honest transactions.
"""

from __future__ import annotations

import time

import pytest
from eth_account import Account

from harness.precompile_inputs import BURN
from harness.probes import wait_for_blocks
from harness.processes import DEV_ADDRESSES, DEV_KEYS, DevNode, rpc
from node.limits import NodeLimits
from tests.hostile.conftest import answered_honestly, honest_client

HEAVY_GAS = 20_000_000  # ~6 s of py-evm on every validator, had it been admitted (member-0 allows 30M)


def signed(key: str, nonce: int, gas: int, **fields) -> str:
    tx = {"type": 2, "chainId": 1337, "nonce": nonce, "gas": gas, "maxFeePerGas": 10**10,
          "maxPriorityFeePerGas": 10**9, **fields}  # fmt: skip
    return Account.sign_transaction(tx, key).raw_transaction.to_0x_hex()


def test_rpc_refuses_a_transaction_over_the_cap(tmp_path):
    cap = 1_000_000  # --tx-gas-cap (the default is NodeLimits.tx_gas_cap)
    with DevNode.start(tmp_path / "data", extra=["--tx-gas-cap", str(cap)]) as node:
        nonce = int(rpc(node.url, "eth_getTransactionCount", DEV_ADDRESSES[1], "pending"), 16)
        for _ in range(5):
            with pytest.raises(RuntimeError) as refused:
                rpc(node.url, "eth_sendRawTransaction", signed(DEV_KEYS[1], nonce, cap + 1, data=BURN))
            assert refused.value.args[:2] == (
                -32000,
                f"transaction gas limit too high (cap: {cap}, tx: {cap + 1})",
            )
        at_cap = rpc(node.url, "eth_sendRawTransaction", signed(DEV_KEYS[1], nonce, cap, to=DEV_ADDRESSES[2]))
        deadline = time.monotonic() + 10
        while (receipt := rpc(node.url, "eth_getTransactionReceipt", at_cap)) is None:
            assert time.monotonic() < deadline, "the transaction at the cap was not committed"
            time.sleep(0.05)
        assert int(receipt["status"], 16) == 1
        assert node.log().count("transaction gas limit too high") == 1  # logged once per client
    assert NodeLimits().tx_gas_cap == 5_000_000


def test_over_cap_gossip_is_refused_and_the_network_keeps_its_pace(consortium):
    net = consortium
    validators = net.names("validator")
    url = net.url("validator-0")
    normal = wait_for_blocks(url, 3, 30) / 3
    users = net.accounts["users"]
    with honest_client(url) as probe:
        # member-0 admits what its lenient cap allows and gossips it to every validator
        burn = "0x" + BURN.hex()
        heavy = [
            net.send_tx("member-0", users[0]["privateKey"], None, data=burn, gas=HEAVY_GAS) for _ in range(3)
        ]
        honest_tx = net.send_tx("validator-1", users[1]["privateKey"], users[2]["address"], value=1)
        busy = wait_for_blocks(url, 5, 60) / 5
        receipt = net.receipt("validator-0", honest_tx)
    assert int(receipt["status"], 16) == 1
    assert busy < normal * 1.5 + 0.3, (normal, busy)
    assert answered_honestly(probe)
    assert net.call("member-0", "eth_getTransactionByHash", heavy[0]) is not None  # admitted there
    member_id = net.by_name["member-0"].node_id
    for name in validators:
        assert all(net.call(name, "eth_getTransactionByHash", h) is None for h in heavy)
        log = (net.root / name / "node.log").read_text()
        refusals = [line for line in log.splitlines() if "transaction gas limit too high" in line]
        assert len(refusals) == 1, refusals  # three transactions, one line: once per peer and reason
        assert f"refused from peer {member_id}" in refusals[0]
        assert f"(cap: {NodeLimits().tx_gas_cap}, tx: {HEAVY_GAS})" in refusals[0]
