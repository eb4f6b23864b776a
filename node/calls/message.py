"""geth's TransactionArgs for the call family (internal/ethapi/transaction_args.go), as a py-evm
message: CallDefaults (gas capped by RPCGasCap, fee fields), ToMessage (the gas price a call pays),
the state transition's pre-checks with geth's texts, and the unsigned transaction py-evm runs.

A call that pays nothing (no price, or zeros) runs with base fee 0, as geth lowers it; a call that
names a price pays it like a transaction (balance checked and charged, BASEFEE the block's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eth.vm.forks.prague.transactions import Authorization
from eth.vm.spoof import SpoofTransaction
from eth_utils import to_checksum_address

from node.errors import SERVER_ERROR, RpcError
from node.vm import BlockClass, floor_data_gas

ZERO_ADDRESS = b"\0" * 20
BUILDER = BlockClass.transaction_builder


@dataclass(frozen=True)
class CallArgs:
    """One call's fields as given (None: left out); node/rpc/txargs.py parses them from JSON."""

    sender: bytes | None = None
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee: int | None = None
    max_priority_fee: int | None = None
    value: int | None = None
    nonce: int | None = None
    data: bytes | None = None
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] | None = None
    authorizations: tuple[dict, ...] | None = None  # py-evm AuthorizationDict fields
    chain_id: int | None = None
    type_id: int | None = None  # the `type` a caller named (checked against the fields when parsed)

    @property
    def origin(self) -> bytes:
        return self.sender or ZERO_ADDRESS

    def with_(self, **fields: Any) -> CallArgs:
        return replace(self, **fields)

    def fee_cap(self) -> int:
        """geth's GasFeeCap of the message: the legacy price, else maxFeePerGas, else 0."""
        return self.gas_price if self.gas_price is not None else self.max_fee or 0

    def tip_cap(self) -> int:
        return self.gas_price if self.gas_price is not None else self.max_priority_fee or 0

    def price(self, base_fee: int) -> int:
        """geth's ToMessage: the gas price the call pays at `base_fee` (0 when it names none)."""
        if self.gas_price is not None:
            return self.gas_price
        cap, tip = self.max_fee or 0, self.max_priority_fee or 0
        return 0 if cap == 0 and tip == 0 else min(tip + base_fee, cap)


def failed(message: str) -> RpcError:
    return RpcError(SERVER_ERROR, message)


def check_defaults(args: CallArgs, chain_id: int) -> None:
    """geth's CallDefaults refusals."""
    if args.gas_price is not None and (args.max_fee is not None or args.max_priority_fee is not None):
        raise failed("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    if args.chain_id is not None and args.chain_id != chain_id:
        raise failed(f"chainId does not match node's (have={args.chain_id}, want={chain_id})")


def call_gas(args: CallArgs, cap: int) -> int:
    """The gas a call runs with: what it names, at most the cap; the cap when it names none."""
    return cap if args.gas is None else min(args.gas, cap)


def build(args: CallArgs, nonce: int, gas: int, chain_id: int) -> SpoofTransaction:
    """The unsigned transaction py-evm runs for a call, of the type its fields need, sent by `origin`."""
    tx = unsigned(args, nonce, gas, chain_id, call_type(args))
    return SpoofTransaction(tx, from_=args.origin)


def call_type(args: CallArgs) -> int:
    """The type a caller named, else the one its fields need (geth's ToTransaction, keeping an
    access list next to a legacy price as type 1 rather than dropping it)."""
    if args.type_id is not None:
        return args.type_id
    if args.authorizations is not None:
        return 4
    if args.gas_price is None and (args.max_fee is not None or args.max_priority_fee is not None):
        return 2
    return 1 if args.access_list is not None else 0


def unsigned(args: CallArgs, nonce: int, gas: int, chain_id: int, type_id: int) -> Any:
    """py-evm's unsigned transaction of `type_id` with the fields of `args`."""
    common = {"nonce": nonce, "gas": gas, "to": args.to or b"", "value": args.value or 0}
    common["data"] = args.data or b""
    if type_id == 0:
        return BUILDER.create_unsigned_transaction(gas_price=args.gas_price or 0, **common)
    access = [(a, list(keys)) for a, keys in args.access_list or ()]
    if type_id == 1:
        return BUILDER.new_unsigned_access_list_transaction(
            chain_id=chain_id, gas_price=args.gas_price or 0, access_list=access, **common
        )
    fees = {"max_priority_fee_per_gas": args.tip_cap(), "max_fee_per_gas": args.fee_cap()}
    if type_id == 2:
        return BUILDER.new_unsigned_dynamic_fee_transaction(
            chain_id=chain_id, access_list=access, **fees, **common
        )
    auths = [Authorization(**auth) for auth in args.authorizations or ()]
    return BUILDER.new_unsigned_set_code_transaction(
        chain_id=chain_id, access_list=access, authorization_list=auths, **fees, **common
    )


def with_signature(tx: Any, sender: bytes, r: int, s: int, legacy_v: int) -> Any:
    """The signed form of an unsigned py-evm transaction with a signature no key made (anvil's
    bypass signature, simulation's zeros): its sender is set, it cannot be recovered."""
    fields = {name: getattr(tx, name) for name, _ in type(tx)._meta.fields}
    kind = getattr(tx, "_type_id", None)
    if kind is None:
        signed = BUILDER.new_transaction(v=legacy_v, r=r, s=s, **fields)
    else:
        maker = {
            1: BUILDER.new_access_list_transaction,
            2: BUILDER.new_dynamic_fee_transaction,
            4: BUILDER.new_set_code_transaction,
        }[kind]
        signed = BUILDER.decode(maker(y_parity=0, r=r, s=s, **fields).encode())  # this fork's class
    signed.__dict__["sender"] = sender
    return signed


def precheck(state: Any, args: CallArgs, tx: Any, base_fee: int, strict: bool = False) -> None:
    """The state transition's checks before anything runs (geth's preCheck, buyGas, intrinsic gas
    and the EIP-7623 floor), with geth's texts; the nonce is checked only when `strict` (calls skip
    it), and fees only when given unless `strict` (geth's NoBaseFee)."""
    who = to_checksum_address(args.origin)
    cap, tip = args.fee_cap(), args.tip_cap()
    have = state.get_nonce(args.origin)
    if strict and args.nonce is not None and args.nonce != have:
        kind = "high" if args.nonce > have else "low"
        raise _transition(f"nonce too {kind}: address {who}, tx: {args.nonce} state: {have}")
    if cap or tip or strict:
        if cap < tip:
            raise _transition(
                "max priority fee per gas higher than max fee per gas: "
                f"address {who}, maxPriorityFeePerGas: {tip}, maxFeePerGas: {cap}"
            )
        if cap < base_fee:
            raise _transition(
                "max fee per gas less than block base fee: "
                f"address {who}, maxFeePerGas: {cap}, baseFee: {base_fee}"
            )
    if args.authorizations is not None:
        if args.to is None:
            raise _transition(f"EIP-7702 transaction cannot be used to create contract (sender {who})")
        if not args.authorizations:
            raise _transition(f"EIP-7702 transaction with empty auth list (sender {who})")
    have, want = state.get_balance(args.origin), tx.gas * cap + (args.value or 0)
    if have < want:
        raise _transition(
            f"insufficient funds for gas * price + value: address {who} have {have} want {want}"
        )
    if tx.gas < tx.intrinsic_gas:
        raise _transition(f"intrinsic gas too low: have {tx.gas}, want {tx.intrinsic_gas}", gas_related=True)
    if tx.gas < floor_data_gas(tx):
        raise _transition(
            f"insufficient gas for floor data gas cost: have {tx.gas}, want {floor_data_gas(tx)}",
            gas_related=True,
        )


class TransitionError(RpcError):
    """A message geth's state transition refuses before running it (`gas_related`: more gas helps)."""

    def __init__(self, message: str, gas_related: bool = False) -> None:
        super().__init__(SERVER_ERROR, message)
        self.gas_related = gas_related


def _transition(message: str, gas_related: bool = False) -> TransitionError:
    return TransitionError(message, gas_related)
