"""eth_estimateGas the way geth does it: one run with the block's gas limit tells what the
transaction uses; the search then only narrows between that and a limit known to work, and stops
within 1.5 % (always on a limit that worked). A handful of executions instead of the ~25 of an exact
binary search over the whole block gas limit, which made every estimate the slowest RPC call."""

from __future__ import annotations

from eth.abc import StateAPI
from eth.exceptions import VMError
from eth.vm.spoof import SpoofTransaction

ERROR_RATIO = 0.015
CALL_STIPEND = 2_300


def _run(state: StateAPI, tx: SpoofTransaction, gas: int) -> tuple[VMError | None, int]:
    """The error (None on success) and the gas used before refunds, with `gas` as the limit."""
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(SpoofTransaction(tx, gas=gas, gas_price=0))
        return (
            computation.error if computation.is_error else None
        ), tx.intrinsic_gas + computation.get_gas_used()
    finally:
        state.revert(snapshot)


def estimate_gas(state: StateAPI, tx: SpoofTransaction) -> int:
    """The smallest limit found to work, within ERROR_RATIO; raises the VM error if the
    transaction fails even with the whole block gas limit."""
    if _run(state, tx, tx.intrinsic_gas)[0] is None:
        return tx.intrinsic_gas
    cap = state.gas_limit
    error, used = _run(state, tx, cap)
    if error is not None:
        raise error
    lo, hi = used - 1, cap  # below what it used it cannot succeed; the cap did
    optimistic = min(cap, (used + CALL_STIPEND) * 64 // 63)  # inner calls keep 1/64 back
    if _run(state, tx, optimistic)[0] is None:
        hi = optimistic
    else:
        lo = optimistic
    while lo + 1 < hi and (hi - lo) / hi >= ERROR_RATIO:
        mid = min((hi + lo) // 2, lo * 2)
        if _run(state, tx, mid)[0] is None:
            hi = mid
        else:
            lo = mid
    return hi
