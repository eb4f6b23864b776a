"""eth_createAccessList as geth makes it (internal/ethapi AccessList, eth/tracers/logger's
AccessListTracer): run the call with the list found so far, record what its opcodes touch, and
repeat until the list no longer changes.

What counts is geth's: SLOAD and SSTORE add a slot of the running contract (even one otherwise
left out); BALANCE, EXTCODE*, SELFDESTRUCT and the CALLs add the address they name, unless it is
the sender, the recipient, a precompile or an authority of the call.
"""

from __future__ import annotations

import rlp
from eth._utils.address import generate_contract_address
from eth_hash.auto import keccak
from eth_keys import keys

from node.calls.context import CallEnv, CallTimeout, execute, timeout_error
from node.calls.engine import CallEngine
from node.calls.message import CallArgs, TransitionError, build, call_gas, precheck
from node.calls.reverts import vm_error_text
from node.errors import SERVER_ERROR, RpcError

SLOTS = (0x54, 0x55)  # SLOAD SSTORE
ADDRESS_TOP = (0x31, 0x3B, 0x3C, 0x3F, 0xFF)  # BALANCE EXTCODESIZE EXTCODECOPY EXTCODEHASH SELFDESTRUCT
ADDRESS_SECOND = (0xF1, 0xF2, 0xF4, 0xFA)  # CALL CALLCODE DELEGATECALL STATICCALL
NEW_ACCOUNT_GAS = 25_000  # params.CallNewAccountGas
MAGIC = b"\x05"


def _word(item) -> int:
    return item if isinstance(item, int) else int.from_bytes(item, "big")


class Recorder:
    """The accounts and slots touched, in geth's shape once sorted."""

    def __init__(self, seed: tuple, excluded: set[bytes]) -> None:
        self.excluded = excluded
        self.touched: dict[bytes, set[int]] = {}
        for address, slots in seed:
            if address not in excluded:
                self.touched.setdefault(address, set()).update(slots)

    def opcode(self, op: int, fn):
        recorder = self

        class Recording:
            mnemonic = getattr(fn, "mnemonic", "")

            def __call__(self, computation):
                stack = computation._stack.values
                if op in SLOTS and stack:
                    slot = _word(stack[-1])
                    recorder.touched.setdefault(computation.msg.storage_address, set()).add(slot)
                elif (op in ADDRESS_TOP and stack) or (op in ADDRESS_SECOND and len(stack) >= 5):
                    word = _word(stack[-1] if op in ADDRESS_TOP else stack[-2])
                    address = (word & ((1 << 160) - 1)).to_bytes(20, "big")
                    if address not in recorder.excluded:
                        recorder.touched.setdefault(address, set())
                return fn(computation=computation)

        return Recording()

    def computation_class(self, base: type) -> type:
        opcodes = dict(base.opcodes)
        for op in (*SLOTS, *ADDRESS_TOP, *ADDRESS_SECOND):
            if op in opcodes:
                opcodes[op] = self.opcode(op, opcodes[op])
        return type(base.__name__ + "Recording", (base,), {"opcodes": opcodes})

    def access_list(self) -> tuple[tuple[bytes, tuple[int, ...]], ...]:
        return tuple((a, tuple(sorted(self.touched[a]))) for a in sorted(self.touched))


def authorities(args: CallArgs, chain_id: int) -> set[bytes]:
    """The authorities of the call's valid authorizations (geth leaves them out of the list)."""
    out = set()
    for auth in args.authorizations or ():
        if auth["chain_id"] not in (0, chain_id) or auth["nonce"] >= 2**64 - 1:
            continue
        try:
            payload = MAGIC + rlp.encode([auth["chain_id"], auth["address"], auth["nonce"]])
            signature = keys.Signature(vrs=(auth["y_parity"], auth["r"], auth["s"]))
            out.add(signature.recover_public_key_from_msg(payload).to_canonical_address())
        except Exception:
            continue
    return out


def create_access_list(engine: CallEngine, reader, env: CallEnv, args: CallArgs) -> tuple:
    """(access list, gas used, error text or None) of `args` (fees and nonce already defaulted)."""
    state, _, base_fee = engine.prepare(reader, env, args)
    nonce = args.nonce if args.nonce is not None else state.get_nonce(args.origin)
    gas = call_gas(args, engine.limits.cap)
    to = args.to if args.to is not None else generate_contract_address(args.origin, nonce)
    precompiles = state.computation_class.get_precompiles()  # as the state overrides left them
    excluded = {args.origin, to, *precompiles, *authorities(args, engine.chain_id)}
    if len(args.authorizations or ()) > gas // NEW_ACCOUNT_GAS:
        raise RpcError(SERVER_ERROR, "insufficient gas to process all authorizations")
    previous = Recorder(args.access_list or (), excluded)
    deadline = engine.deadline()
    while True:
        listed = previous.access_list()
        recorder = Recorder(listed, excluded)
        outcome = _run(
            engine, state, args.with_(access_list=listed), (nonce, gas, base_fee), recorder, deadline
        )
        if recorder.touched == previous.touched:
            return listed, outcome.gas_used, _error(outcome)
        previous = recorder


def _run(engine: CallEngine, state, args: CallArgs, numbers: tuple, recorder: Recorder, deadline):
    """One run with `args`' access list, recording what it touches; the state is reverted."""
    nonce, gas, base_fee = numbers
    tx = build(args, state.get_nonce(args.origin), gas, engine.chain_id)
    snapshot, base = state.snapshot(), state.computation_class
    try:
        precheck(state, args, tx, base_fee)
        state.computation_class = recorder.computation_class(base)
        return execute(state, tx, deadline, engine.context.vm_class)
    except TransitionError as exc:
        failed = _legacy_hash(args, nonce, gas)
        raise RpcError(SERVER_ERROR, f"failed to apply transaction: {failed} err: {exc.message}") from None
    except CallTimeout:
        raise timeout_error(engine.limits.evm_timeout) from None
    finally:
        state.revert(snapshot)
        state.computation_class = base


def _error(outcome) -> str | None:
    return None if outcome.error is None else vm_error_text(outcome.error)


def _legacy_hash(args: CallArgs, nonce: int, gas: int) -> str:
    """geth names the failed call by the hash of its unsigned legacy form."""
    fields = [nonce, args.gas_price or 0, gas, args.to or b"", args.value or 0, args.data or b"", 0, 0, 0]
    return "0x" + keccak(rlp.encode(fields)).hex()
