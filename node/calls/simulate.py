"""eth_simulateV1 (geth's internal/ethapi/simulate.go): blocks of calls on top of a base block, each
block with its own overrides, the state carried from call to call and block to block, never
committed. Without `validation` the base fee is 0 (unless overridden) and nonces are not checked;
with it, both are, as for a real block. Every simulated block gets a real header (state, receipts
and transactions roots, bloom, gas used) and hash; its transactions are unsigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from eth.exceptions import Revert
from eth.vm.forks.shanghai.withdrawals import Withdrawal
from eth.vm.spoof import SpoofTransaction

from node.calls.context import CallTimeout, computation_class, timeout_error
from node.calls.engine import CallEngine
from node.calls.logtracer import LogTracer
from node.calls.message import (
    CallArgs,
    TransitionError,
    call_type,
    check_defaults,
    precheck,
    unsigned,
    with_signature,
)
from node.calls.overrides import BlockOverrides, StateOverrides, apply_state
from node.calls.reverts import revert_message, vm_error_text
from node.errors import EXECUTION_REVERTED, SERVER_ERROR, RpcError
from node.execution import keep_senders
from node.storage import StateOverlay
from node.trie import ordered_trie_root
from node.vm import BlockClass

MAX_BLOCKS = 256
TIMESTAMP_INCREMENT = 12
VM_ERROR = -32015
CLIENT_LIMIT = -38026
VALIDATION_CODES = (  # geth's txValidationError codes
    ("nonce too high", -38011),
    ("nonce too low", -38010),
    ("max fee per gas less than block base fee", -38012),
    ("intrinsic gas too low", -38013),
    ("insufficient funds", -38014),
    ("max priority fee per gas higher than max fee per gas", -32602),
)


@dataclass
class SimBlock:
    block: BlockOverrides = field(default_factory=BlockOverrides)
    state: StateOverrides | None = None
    calls: list[CallArgs] = field(default_factory=list)


@dataclass
class SimCall:
    output: bytes
    logs: list[tuple]  # (address, topics, data, log index)
    gas_used: int
    max_used: int
    failed: bool
    error: tuple[str, int, str | None] | None  # (message, code, data)


@dataclass
class SimResult:
    block: Any  # a py-evm block; its transactions carry their senders
    calls: list[SimCall]


class _Headers:
    """Header lookups for simulated blocks: the chain's, then the blocks simulated so far."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.simulated: dict[bytes, Any] = {}

    def get_header_by_hash(self, block_hash: bytes) -> Any:
        return self.simulated.get(block_hash) or self.reader.get_header_by_hash(block_hash)


def sanitize(base: Any, blocks: list[SimBlock]) -> list[SimBlock]:
    """geth's sanitizeChain: numbers and timestamps strictly increasing (defaults +1 and +12), gaps
    in numbers filled with empty blocks."""
    out: list[SimBlock] = []
    number, stamp = base.block_number, base.timestamp
    for sim in blocks:
        o = sim.block
        target = o.number if o.number is not None else number + 1
        if target <= number:
            raise RpcError(-38020, f"block numbers must be in order: {target} <= {number}")
        if target - base.block_number > MAX_BLOCKS:
            raise RpcError(CLIENT_LIMIT, "too many blocks")
        for gap in range(number + 1, target):
            stamp += TIMESTAMP_INCREMENT
            out.append(SimBlock(BlockOverrides(number=gap, time=stamp)))
        if o.time is not None and o.time <= stamp:
            raise RpcError(-38021, f"block timestamps must be in order: {o.time} <= {stamp}")
        stamp = o.time if o.time is not None else stamp + TIMESTAMP_INCREMENT
        number = target
        out.append(SimBlock(replace(o, number=target, time=stamp), sim.state, sim.calls))
    return out


@dataclass
class Simulation:
    engine: CallEngine
    reader: Any
    validation: bool = False
    trace_transfers: bool = False
    budget: int = 0  # gas left of the RPC gas cap, across every block
    deadline: float | None = None

    def run(self, base: Any, blocks: list[SimBlock]) -> list[SimResult]:
        headers = _Headers(self.reader)
        overlay = StateOverlay(self.reader)
        self.budget, self.deadline = self.engine.limits.cap, self.engine.deadline()
        results, parent = [], base
        tracer = LogTracer(self.trace_transfers)
        for sim in sanitize(base, blocks):
            try:
                result = self._block(headers, overlay, parent, sim, tracer)
            except CallTimeout:
                raise timeout_error(self.engine.limits.evm_timeout) from None
            parent = result.block.header
            headers.simulated[parent.hash] = parent
            results.append(result)
        return results

    def _header(self, parent: Any, o: BlockOverrides) -> Any:
        vm_class = self.engine.context.vm_class
        header = vm_class.create_header_from_parent(
            parent, timestamp=o.time, gas_limit=parent.gas_limit, coinbase=parent.coinbase
        )
        fields = {
            **o.header_fields(),
            "difficulty": 0,
            "parent_beacon_block_root": o.beacon_root or b"\0" * 32,
        }
        if o.base_fee is None and not self.validation:
            fields["base_fee_per_gas"] = 0
        return header.copy(**fields)

    def _block(self, headers: _Headers, overlay: StateOverlay, parent: Any, sim: SimBlock, tracer: LogTracer):
        header = self._header(parent, sim.block)
        vm = self.engine.context.vm_on(headers, header, overlay)
        state = vm.state
        moved = apply_state(state, sim.state, type(state).computation_class.get_precompiles())
        base_class = computation_class(type(state).computation_class, self.deadline, moved)
        state.computation_class = tracer.computation_class(base_class)
        block = BlockClass(header, transactions=[], uncles=[], withdrawals=[])
        vm.block_preprocessing(block)
        txs, receipts, calls = [], [], []
        tracer.count = 0
        for index, args in enumerate(sim.calls):
            tx, receipt, call = self._call(vm, header, args, index, tracer)
            header = vm.add_receipt_to_header(header, receipt)
            txs.append(tx)
            receipts.append(receipt)
            calls.append(call)
        block = vm.set_block_transactions_and_withdrawals(block, header, txs, receipts)
        block = self._withdrawals(state, block, sim.block.withdrawals or ())
        block = keep_senders(vm.finalize_block(vm.block_postprocessing(block)).block, txs)
        return SimResult(block, calls)

    @staticmethod
    def _withdrawals(state: Any, block: Any, withdrawals: tuple) -> Any:
        items = [
            Withdrawal(index, validator, address, amount) for index, validator, address, amount in withdrawals
        ]
        for item in items:
            state.apply_withdrawal(item)
        root = ordered_trie_root([item.encode() for item in items])
        return block.copy(withdrawals=items, header=block.header.copy(withdrawals_root=root))

    def _call(self, vm: Any, header: Any, args: CallArgs, index: int, tracer: LogTracer) -> tuple:
        state, chain_id = vm.state, self.engine.chain_id
        check_defaults(args, chain_id)
        remaining = header.gas_limit - header.gas_used
        wanted = args.gas if args.gas is not None else remaining
        if remaining < wanted:
            raise RpcError(-38015, f"block gas limit reached: remaining: {remaining}, required: {wanted}")
        gas = min(wanted, self.budget)
        sender, nonce = args.origin, args.nonce if args.nonce is not None else state.get_nonce(args.origin)
        kind = call_type(args)
        tx = with_signature(unsigned(args, nonce, gas, chain_id, kind), sender, 0, 0, 0)
        run = SpoofTransaction(unsigned(args, state.get_nonce(sender), gas, chain_id, kind), from_=sender)
        try:
            precheck(state, args, run, header.base_fee_per_gas, strict=self.validation)
        except TransitionError as exc:
            code = next((c for text, c in VALIDATION_CODES if exc.message.startswith(text)), -32603)
            raise RpcError(code, exc.message) from None
        state.lock_changes()
        tracer.reset()
        computation = state.apply_transaction(run)
        receipt = vm.make_receipt(header, tx, computation, state)
        used = vm.finalize_gas_used(tx, computation)
        if used > self.budget:
            raise RpcError(SERVER_ERROR, f"RPC gas cap exhausted: need {used}, remaining {self.budget}")
        self.budget -= used
        max_used = gas - computation.get_gas_remaining()
        return tx, receipt, _result(computation, tracer.logs(), used, max_used, gas < wanted)


def _result(computation: Any, logs: list, used: int, max_used: int, capped: bool) -> SimCall:
    if not computation.is_error:
        return SimCall(computation.output, logs, used, max_used, False, None)
    if isinstance(computation.error, Revert):
        data = "0x" + computation.output.hex()
        error = (revert_message(computation.output), EXECUTION_REVERTED, data)
    else:
        message = vm_error_text(computation.error)
        if capped:
            message += " (gas limit was capped by the RPC server's global gas cap)"
        error = (message, VM_ERROR, None)
    return SimCall(computation.output, [], used, max_used, True, error)
