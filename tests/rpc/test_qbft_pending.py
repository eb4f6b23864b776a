"""The `pending` tag on a QBFT chain, through a real validator process: its blocks carry Besu's
difficulty 1 (py-evm's post-merge header rule says 0), so the pending block, and the calls in the
head's child, must be built with the chain's own header fields, not py-evm's defaults.

Two validators, one stopped: without a quorum the chain stands still, and a transfer sent to the
other stays in its pool, where the pending block shows it (docs/rpc.md).
"""

from __future__ import annotations

from harness.network import Network, NetworkSpec
from harness.polling import until


def balance_and_number(address: str) -> str:
    """Init code returning BALANCE(address) and NUMBER: what a call sees of state and block."""
    return "0x73" + address[2:].lower() + "31600052" + "43602052" + "60406000f3"


def test_pending_on_a_qbft_chain_is_the_head_plus_the_pool(tmp_path):
    net = Network.up(tmp_path, NetworkSpec(validators=2, members=0, block_period=0.5))
    try:
        net.stop("validator-1")  # the quorum of two is two: no block after the one in flight
        sender, receiver = net.accounts["users"][0], net.accounts["users"][1]
        tx_hash = net.send_tx("validator-0", sender["privateKey"], receiver["address"], value=1)
        call = lambda method, *params: net.call("validator-0", method, *params)  # noqa: E731

        def settled():  # latest, pending, latest again: the same head on both sides of the read
            before = call("eth_getBlockByNumber", "latest", False)
            pending = call("eth_getBlockByNumber", "pending", False)
            return (before, pending) if call("eth_blockNumber") == before["number"] else None

        latest, pending = until(settled, 30, "a head that stands still")
        number = int(latest["number"], 16)
        assert number >= 1 and latest["difficulty"] == "0x1"  # a sealed QBFT block, not the genesis
        assert int(pending["number"], 16) == number + 1 and pending["parentHash"] == latest["hash"]
        assert (pending["hash"], pending["nonce"], pending["miner"]) == (None, None, None)
        assert pending["difficulty"] == "0x1" and pending["transactions"] == [tx_hash]
        assert call("eth_getTransactionReceipt", tx_hash) is None  # still only in the pool
        assert call("eth_getBlockTransactionCountByNumber", "pending") == "0x1"

        address = sender["address"]
        balance = call("eth_getBalance", address, "latest")
        assert call("eth_getBalance", address, "pending") == balance  # the head's state (docs/rpc.md)
        nonce = int(call("eth_getTransactionCount", address, "latest"), 16)
        assert call("eth_getTransactionCount", address, "pending") == hex(nonce + 1)  # the pool's
        seen = call("eth_call", {"data": balance_and_number(address)}, "pending")
        assert int(seen[2:66], 16) == int(balance, 16) and int(seen[66:], 16) == number + 1
        transfer = {"from": address, "to": receiver["address"], "value": "0x1"}
        assert call("eth_estimateGas", transfer, "pending") == hex(21_000)
    finally:
        net.down()
