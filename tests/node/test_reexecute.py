"""Executing a committed block again, alone (the simulator's yardstick for what one node executes):
it must reproduce the block's own state root and gas, leave the chain as it was, and refuse what
is not a committed block."""

from __future__ import annotations

import subprocess
import sys

import pytest
from eth_account import Account

from node.chain import Chain
from node.genesis import dev_accounts, dev_genesis
from node.reexecute import ReexecutionError, reexecute
from node.storage import Store

(SENDER, KEY), (TO, _) = dev_accounts(2)


def transfer(chain: Chain, nonce: int):
    tx = {"chainId": 1337, "nonce": nonce, "to": TO, "value": 1, "gas": 21_000,
          "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}  # fmt: skip
    return chain.decode_transaction(bytes(Account.sign_transaction(tx, KEY).raw_transaction))


def test_a_committed_block_executes_again_to_its_own_state(tmp_path):
    genesis = dev_genesis(3, timestamp=1_700_000_000)
    chain = Chain(Store(tmp_path / "node"), genesis)
    for n in range(2):
        block, receipts = chain.build_block(
            [transfer(chain, 2 * n), transfer(chain, 2 * n + 1)], timestamp=1_700_000_001 + n
        )
        chain.commit_block(block, receipts)
    head = chain.head
    again = reexecute(chain, 1)
    assert (again.number, again.gas, again.transactions) == (1, 42_000, 2)
    assert again.seconds > 0
    assert chain.head == head  # nothing of it was committed
    with pytest.raises(ReexecutionError, match="#0"):
        reexecute(chain, 0)
    with pytest.raises(ReexecutionError, match="#3"):
        reexecute(chain, 3)

    # a copy of the datadir, taken by another process while this one holds it, executes the same
    source, dest = str(tmp_path / "node"), str(tmp_path / "copy")
    copy = f"from node.storage import copy_store; copy_store({source!r}, {dest!r})"
    subprocess.run([sys.executable, "-c", copy], check=True, timeout=60)
    copied = Chain(Store(tmp_path / "copy"), genesis)
    assert copied.head == head
    assert reexecute(copied, 2).gas == 42_000
