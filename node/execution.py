"""The one loop that applies a block's transactions on a VM and finalises the block once (py-evm's
batch path): for blocks the chain builds and validates, state edits of a dev chain, and the pending
block the call worker builds for eth_getBlockByNumber("pending")."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.exceptions import Revert
from eth_utils import ValidationError

from node.errors import InvalidBlock
from node.vm import BlockClass


def run_block(
    vm: Any,
    header: BlockHeaderAPI,
    transactions: Sequence[SignedTransactionAPI],
    strict: bool,
    allowed: Callable[[bytes], bool] | None = None,
    edit: Callable[[Any], None] | None = None,
    tx_gas_cap: int | None = None,
) -> tuple[BlockAPI, tuple[ReceiptAPI, ...], dict[bytes, bytes]]:
    """(block, receipts, revert data by tx hash) of `transactions` applied in order on `vm` (whose
    header is `header`), after the block's system calls and `edit(state)`. A transaction invalid
    against the state (or whose sender `allowed` refuses, or that asks more gas than the chain's
    `tx_gas_cap`, EIP-7825's rule) is left out, or with `strict` raises InvalidBlock naming it."""
    block = BlockClass(header, transactions=[], uncles=[], withdrawals=[])
    vm.block_preprocessing(block)
    if edit is not None:
        edit(vm.state)
    included: list[SignedTransactionAPI] = []
    receipts: list[ReceiptAPI] = []
    reverts: dict[bytes, bytes] = {}
    for index, tx in enumerate(transactions):
        try:
            if tx_gas_cap is not None and tx.gas > tx_gas_cap:
                raise ValidationError(
                    f"gas limit {tx.gas} above the chain's cap per transaction {tx_gas_cap} "
                    "(config.hubao.txGasLimitCap)"
                )
            if allowed is not None and not allowed(tx.sender):
                raise ValidationError(f"sender {tx.sender.hex()} is not on the accounts allowlist")
            receipt, computation = vm.apply_transaction(header, tx)
        except ValidationError as exc:
            if strict:
                raise InvalidBlock(f"transaction {index} (0x{tx.hash.hex()}): {exc}") from exc
            continue
        if computation.is_error and isinstance(computation.error, Revert):
            reverts[tx.hash] = computation.output
        header = vm.add_receipt_to_header(header, receipt)
        included.append(tx)
        receipts.append(receipt)
    block = vm.set_block_transactions_and_withdrawals(block, header, included, receipts)
    block = vm.finalize_block(vm.block_postprocessing(block)).block
    return keep_senders(block, included), tuple(receipts), reverts


def keep_senders(block: BlockAPI, originals: Sequence[SignedTransactionAPI]) -> BlockAPI:
    """py-evm's block copies drop a legacy transaction's cached sender: put back the senders the
    originals know (recovered once by the pool; an impersonated one cannot be recovered at all)."""
    for copied, original in zip(block.transactions, originals, strict=True):
        if "sender" in original.__dict__:
            copied.__dict__["sender"] = original.__dict__["sender"]
    return block
