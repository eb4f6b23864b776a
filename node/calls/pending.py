"""The pending block (eth_getBlockByNumber("pending") as geth answers it): the pool's executable
transactions applied on top of head in a block stamped now, built on the worker thread over its
snapshot and never committed. The RPC layer nulls its hash, nonce and miner, as geth does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth.abc import BlockAPI, SignedTransactionAPI

from node.calls.engine import CallEngine
from node.execution import run_block
from node.storage import StateOverlay


def pending_block(
    engine: CallEngine,
    reader: Any,
    parent: Any,
    timestamp: int,
    header_fields: dict,
    transactions: Sequence[SignedTransactionAPI],
) -> BlockAPI:
    """The block `transactions` make on top of `parent` (those invalid against its state are left
    out, as the builder leaves them out); `header_fields` are the chain's own (gas limit,
    coinbase, the consensus rules' fixed fields). They are set on the header py-evm makes, not
    passed to it, as the chain builds its own: py-evm refuses a post-merge header with difficulty
    other than 0, and QBFT's blocks carry Besu's difficulty 1."""
    context = engine.context
    header = context.vm_class.create_header_from_parent(parent, timestamp=timestamp).copy(**header_fields)
    vm = context.vm_on(reader, header, StateOverlay(reader))
    block, _, _ = run_block(vm, header, transactions, strict=False)
    return block
