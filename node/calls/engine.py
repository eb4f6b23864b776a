"""eth_call and eth_estimateGas on a reader (the worker's snapshot, or the chain's store), as geth
runs them (internal/ethapi/api.go doCall, eth/gasestimator): gas capped by RPCGasCap, a deadline
of RPCEVMTimeout, geth's refusals and texts.

Plain calls (no overrides, no gas price) on one block and child timestamp share one state per
reader, reverted after each, so a batch of hundreds of reads keeps the account and trie caches
warm instead of building a state and walking the trie from LMDB for each.
"""

from __future__ import annotations

import time
from typing import Any

from eth.exceptions import OutOfGas, Revert
from eth.vm.chain_context import ChainContext

from node.calls.context import CallEnv, CallTimeout, Context, Outcome, execute, timeout_error
from node.calls.message import CallArgs, TransitionError, build, call_gas, check_defaults, precheck
from node.calls.reverts import revert_error, vm_error_text
from node.calls.worker import CallLimits
from node.errors import SERVER_ERROR, RpcError
from node.vm import floor_data_gas

ERROR_RATIO = 0.015  # geth's estimateGasErrorRatio
CALL_STIPEND = 2_300
TX_GAS = 21_000


class CallEngine:
    def __init__(self, context: Context, chain_id: int, limits: CallLimits) -> None:
        self.context = context
        self.chain_id = chain_id
        self.limits = limits

    @classmethod
    def for_chain(cls, vm_class: type, chain_id: int, limits: CallLimits | None = None) -> CallEngine:
        """The engine of a chain of `vm_class` and `chain_id` (the chain's, or a worker process's own)."""
        return cls(Context(vm_class, ChainContext(chain_id)), chain_id, limits or CallLimits())

    def deadline(self) -> float | None:
        timeout = self.limits.evm_timeout
        return time.monotonic() + timeout if timeout else None

    # -- the state a call runs on --------------------------------------------------------------
    def prepare(self, reader: Any, env: CallEnv, args: CallArgs) -> tuple[Any, Any, int]:
        """(state, child header, base fee the call sees) for `args` in `env`."""
        check_defaults(args, self.chain_id)
        if env.block is not None:
            env.block.refuse_simulation_fields()
        header = self.context.child(env)
        base_fee = header.base_fee_per_gas
        if args.price(base_fee) == 0:  # geth lowers the base fee so a free call is valid
            header, base_fee = header.copy(base_fee_per_gas=0), 0
        if env.plain and base_fee == 0:
            return self._warm(reader, env, header), header, 0
        return self.context.state(reader, env, header), header, base_fee

    def _warm(self, reader: Any, env: CallEnv, header: Any) -> Any:
        key = (env.parent.hash, env.timestamp)
        cache = reader.__dict__.setdefault("warm_calls", {})
        if key not in cache:
            cache.clear()
            cache[key] = self.context.state(reader, env, header)
        return cache[key]

    def run(self, state: Any, args: CallArgs, gas: int, base_fee: int, deadline: float | None) -> Outcome:
        """One execution with `gas`, reverted afterwards; TransitionError before it runs."""
        tx = build(args, state.get_nonce(args.origin), gas, self.chain_id)
        precheck(state, args, tx, base_fee)
        snapshot = state.snapshot()
        try:
            return execute(state, tx, deadline, self.context.vm_class)
        except CallTimeout:
            raise timeout_error(self.limits.evm_timeout) from None
        finally:
            state.revert(snapshot)

    # -- eth_call ------------------------------------------------------------------------------
    def call(self, reader: Any, env: CallEnv, args: CallArgs) -> Outcome:
        state, _, base_fee = self.prepare(reader, env, args)
        gas = call_gas(args, self.limits.cap)
        try:
            return self.run(state, args, gas, base_fee, self.deadline())
        except TransitionError as exc:
            raise RpcError(SERVER_ERROR, f"err: {exc.message} (supplied gas {gas})") from None
        except RpcError:
            raise
        except Exception:
            reader.__dict__.pop("warm_calls", None)  # never reuse a state an error left behind
            raise

    # -- eth_estimateGas -----------------------------------------------------------------------
    def estimate(self, reader: Any, env: CallEnv, args: CallArgs) -> int:
        """geth's gasestimator.Estimate; raises RpcError (a revert is code 3, as geth)."""
        state, header, base_fee = self.prepare(reader, env, args)
        hi = args.gas if args.gas is not None and args.gas >= TX_GAS else header.gas_limit
        hi = self._fundable(state, args, hi)
        if self.limits.gas_cap and hi > self.limits.gas_cap:
            hi = self.limits.gas_cap
        deadline = self.deadline()

        def fails(gas: int) -> tuple[bool, Outcome | None]:
            try:
                outcome = self.run(state, args, gas, base_fee, deadline)
            except TransitionError as exc:
                if exc.gas_related:
                    return True, None
                raise RpcError(SERVER_ERROR, f"failed with {gas} gas: {exc.message}") from None
            return outcome.error is not None, outcome

        transfer = not args.data and args.to is not None and not state.get_code(args.to)
        if transfer and not fails(TX_GAS)[0]:
            return TX_GAS
        failed, outcome = fails(hi)
        if failed:
            if outcome is not None and not isinstance(outcome.error, OutOfGas):
                raise outcome_error(outcome)
            raise RpcError(SERVER_ERROR, f"gas required exceeds allowance ({hi})")
        floor = floor_data_gas(build(args, 0, hi, self.chain_id))
        return self._search(fails, outcome, hi, floor)

    @staticmethod
    def _search(fails: Any, first: Outcome, hi: int, floor: int) -> int:
        if first.gas_used == floor < hi and not fails(floor)[0]:
            return floor  # calldata-heavy: the EIP-7623 floor, not 1.5 % above it
        lo = first.gas_used - 1
        optimistic = (first.max_used + CALL_STIPEND) * 64 // 63
        if optimistic < hi:
            if fails(optimistic)[0]:
                lo = optimistic
            else:
                hi = optimistic
        while lo + 1 < hi and (hi - lo) / hi >= ERROR_RATIO:
            mid = min(lo + (hi - lo) // 2, lo * 2)
            if fails(mid)[0]:
                lo = mid
            else:
                hi = mid
        return hi

    @staticmethod
    def _fundable(state: Any, args: CallArgs, hi: int) -> int:
        """geth: a call that pays a fee can use at most the gas its balance pays for."""
        cap = args.fee_cap()
        if not cap:
            return hi
        available = state.get_balance(args.origin)
        if args.value:
            if args.value >= available:
                raise RpcError(SERVER_ERROR, "insufficient funds for transfer")
            available -= args.value
        return min(hi, available // cap)


def outcome_error(outcome: Outcome) -> RpcError:
    """geth's answer for a call that failed in the EVM: a revert is code 3 with its data."""
    if isinstance(outcome.error, Revert):
        return revert_error(outcome.output)
    return RpcError(SERVER_ERROR, vm_error_text(outcome.error))
