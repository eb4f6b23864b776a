"""Interval sealing (`--block-time`): blocks keep coming, empty or not, and carry what is pending."""

from __future__ import annotations

import time

from eth_account import Account

from harness.processes import DEV_ADDRESSES, DEV_KEYS, DevNode, rpc


def test_block_time_mode(tmp_path):
    with DevNode.start(tmp_path / "data", block_time=0.4) as node:
        url = node.url
        start = int(rpc(url, "eth_blockNumber"), 16)
        time.sleep(1.5)
        later = int(rpc(url, "eth_blockNumber"), 16)
        assert later >= start + 2, "empty blocks are sealed on the interval"
        tx = {"chainId": 1337, "nonce": 0, "to": DEV_ADDRESSES[1], "value": 3, "gas": 21000}
        tx |= {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}
        h = rpc(
            url,
            "eth_sendRawTransaction",
            Account.sign_transaction(tx, DEV_KEYS[0]).raw_transaction.to_0x_hex(),
        )
        deadline = time.monotonic() + 10
        while (receipt := rpc(url, "eth_getTransactionReceipt", h)) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert int(receipt["blockNumber"], 16) > later
        blocks = [rpc(url, "eth_getBlockByNumber", hex(n), False) for n in range(start, later + 1)]
        stamps = [int(b["timestamp"], 16) for b in blocks]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
