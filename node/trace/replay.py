"""Replays for tracing: a block's transactions on a fresh state of its parent, the traced one (or
all, for a block trace) under a tracer; and a call on a block's state (debug_traceCall).

A replay runs on `Chain.replay_vm`, a VM over a never-committed overlay, so nothing it does
reaches storage; transactions before the traced one run on py-evm's own computation class, at
full speed. The traced transaction runs with the block's own context (coinbase, timestamp,
number, base fee), as geth's StateAtTransaction gives it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import rlp
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, BlockHeaderAPI, SignedTransactionAPI
from eth.vm.spoof import SpoofTransaction
from eth_keys import keys
from eth_utils import ValidationError

from node.abc import ChainAPI
from node.calls.context import computation_class
from node.calls.overrides import apply_state
from node.chain import PROPOSER_FIELDS
from node.errors import SERVER_ERROR, RpcError
from node.trace.abc import TraceAborted, TracerAPI, TxInfo
from node.trace.hooks import Tracing
from node.vm import BlockClass

if TYPE_CHECKING:
    from node.trace.config import TraceRequest

SET_CODE_TX_TYPE = 4
SET_CODE_MAGIC = b"\x05"  # EIP-7702 authorisation signing prefix
GAS_CAP = 50_000_000  # geth's RPCGasCap: a call's gas when it names none, and its most


@dataclass
class Replay:
    """A VM positioned inside a block: `header` carries the gas used so far."""

    vm: Any
    header: BlockHeaderAPI
    log_base: int = 0

    def run(self, tx: SignedTransactionAPI) -> None:
        """Apply one transaction untraced (the state moves on; nothing is recorded)."""
        receipt, _ = self.vm.apply_transaction(self.header, tx)
        self._advance(receipt)

    def trace(self, tx: SignedTransactionAPI, tracer: TracerAPI, deadline: float) -> Any:
        """Apply one transaction under `tracer`, stopping it at `deadline`; returns the answer."""
        state = self.vm.state
        tracing = Tracing(tracer, deadline)
        tracer.start(self._info(tx, state), state)
        state.computation_class = tracing.computation_class(state.computation_class)
        receipt = None
        try:
            if isinstance(tx, SpoofTransaction):  # a call: no receipt, the state is thrown away
                computation = state.apply_transaction(tx)
            else:
                receipt, computation = self.vm.apply_transaction(self.header, tx)
        except ValidationError as exc:
            raise RpcError(SERVER_ERROR, f"tracing failed: {exc}") from exc
        except TraceAborted as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc
        finally:
            del state.computation_class
        gas_used = self.vm.finalize_gas_used(tx, computation)
        tracer.end(tracing.end(computation), gas_used, state)
        if receipt is not None:
            self._advance(receipt)
        return tracer.result()

    def _advance(self, receipt: Any) -> None:
        self.header = self.vm.add_receipt_to_header(self.header, receipt)
        self.log_base += len(receipt.logs)

    def _info(self, tx: SignedTransactionAPI, state: Any) -> TxInfo:
        sender = tx.sender
        is_create = not tx.to
        to = generate_contract_address(sender, state.get_nonce(sender)) if is_create else tx.to
        authorities = tuple(_authorities(tx))
        coinbase = self.header.coinbase
        return TxInfo(sender, to, is_create, tx.value, tx.data, tx.gas, coinbase, authorities, self.log_base)


def _authorities(tx: SignedTransactionAPI) -> Iterator[bytes]:
    """The accounts a type-4 transaction's authorisations name (the ones that recover)."""
    if tx.type_id != SET_CODE_TX_TYPE:
        return
    for auth in tx.authorization_list:
        try:
            payload = SET_CODE_MAGIC + rlp.encode([auth.chain_id, auth.address, auth.nonce])
            signature = keys.Signature(vrs=(auth.y_parity, auth.r, auth.s))
            yield signature.recover_public_key_from_msg(payload).to_canonical_address()
        except Exception:  # geth skips an authorisation whose signature does not recover
            continue


def replay_block(chain: ChainAPI, block: BlockAPI) -> Replay:
    """A replay at the start of `block`: its parent's state, its own context, system calls done."""
    if block.header.block_number == 0:
        raise RpcError(SERVER_ERROR, "genesis is not traceable")
    parent = chain.get_header_by_hash(block.header.parent_hash)
    fields = {name: getattr(block.header, name) for name in PROPOSER_FIELDS}
    header = chain.vm_class.create_header_from_parent(parent, **fields)
    vm = chain.replay_vm(header)
    vm.block_preprocessing(BlockClass(header, transactions=[], uncles=[], withdrawals=[]))
    return Replay(vm, header)


def trace_transaction(chain: ChainAPI, block: BlockAPI, index: int, request: TraceRequest) -> Any:
    replay = replay_block(chain, block)
    for tx in block.transactions[:index]:
        replay.run(tx)
    return replay.trace(block.transactions[index], request.make(), request.deadline())


def trace_block(chain: ChainAPI, block: BlockAPI, request: TraceRequest) -> list[dict]:
    """Every transaction of the block, each with its own tracer: geth's [{txHash, result}]."""
    replay = replay_block(chain, block)
    return [
        {"txHash": "0x" + tx.hash.hex(), "result": replay.trace(tx, request.make(), request.deadline())}
        for tx in block.transactions
    ]


def trace_call(chain: ChainAPI, call: dict, block: BlockAPI, request: TraceRequest) -> Any:
    """geth's debug_traceCall: the call on the state after `block` (or before its transaction
    `tx_index`), in the block's own context; base fee 0 when the call pays no gas price."""
    tx_index = request.tx_index
    if tx_index is None:
        header = block.header
        vm = chain.replay_vm(header)
    else:
        if tx_index > len(block.transactions):
            raise RpcError(
                SERVER_ERROR, f"tx index {tx_index} out of range for block {block.header.hash.hex()}"
            )
        replay = replay_block(chain, block)
        for tx in block.transactions[:tx_index]:
            replay.run(tx)
        vm = replay.vm
        vm.state.persist()
        header = block.header.copy(state_root=vm.state.state_root)
    gas = min(call.get("gas") or GAS_CAP, GAS_CAP)
    price = call.get("gasPrice", 0)
    context = _overridden(header, request)
    context = context.copy(base_fee_per_gas=context.base_fee_per_gas if price else 0)
    call_vm = type(vm)(context, vm.chaindb, vm.chain_context, None)
    state = call_vm.state
    if request.state:  # geth's stateOverrides, precompiles moved by a computation class of the call's
        moved = apply_state(state, request.state, type(state).computation_class.get_precompiles())
        state.computation_class = computation_class(type(state).computation_class, None, moved)
    replay = Replay(call_vm, context)
    return replay.trace(_spoof(call, state, gas, price), request.make(), request.deadline())


def _overridden(header: BlockHeaderAPI, request: TraceRequest) -> BlockHeaderAPI:
    """The header with debug_traceCall's blockOverrides (geth refuses beaconRoot and withdrawals)."""
    if request.block is None:
        return header
    request.block.refuse_simulation_fields()
    return header.copy(**request.block.header_fields())


def _spoof(call: dict, state: Any, gas: int, price: int) -> SpoofTransaction:
    sender = call.get("from") or b"\0" * 20
    unsigned = BlockClass.transaction_builder.create_unsigned_transaction(
        nonce=state.get_nonce(sender),
        gas_price=price,
        gas=gas,
        to=call.get("to") or b"",
        value=call.get("value", 0),
        data=call.get("data", b""),
    )
    return SpoofTransaction(unsigned, from_=sender)
