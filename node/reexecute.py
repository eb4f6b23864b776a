"""A committed block executed again, alone: what executing it costs one node on one core, with no
consensus, peers or clients around it (the yardstick a network's sustained throughput is held to).

The block's transactions run in order on its parent's state over an overlay that is never
committed (`Chain.replay_vm`, as tracing uses), after the block's system calls, and the state root
they end in must be the block's own: a measurement of a wrong execution would mean nothing. The
store's write of the result is not part of it (a node that imports a block also commits it), so
the seconds are a lower bound on what importing the block costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from node.abc import ChainAPI
from node.errors import NodeError
from node.execution import run_block


class ReexecutionError(NodeError):
    """A block that could not be executed again to its own state root."""


@dataclass(frozen=True)
class Reexecuted:
    number: int
    gas: int
    transactions: int
    seconds: float


def reexecute(chain: ChainAPI, number: int) -> Reexecuted:
    """Execute committed block `number` again on its parent's state and time it."""
    block = chain.get_block_by_number(number)
    if block is None or number == 0:
        raise ReexecutionError(f"block #{number} is not a committed block after genesis")
    template = chain.template_of(chain.get_header_by_hash(block.header.parent_hash), block.header)
    started = time.perf_counter()
    vm = chain.replay_vm(template)
    executed, _, _ = run_block(vm, template, block.transactions, strict=True, tx_gas_cap=chain.tx_gas_cap)
    seconds = time.perf_counter() - started
    if executed.header.state_root != block.header.state_root:
        raise ReexecutionError(f"block #{number} executed again to another state root")
    return Reexecuted(number, block.header.gas_used, len(block.transactions), seconds)
