"""Fees the node suggests, and geth's setFeeDefaults: what a transaction left out of its fees is
filled from them (eth_sendTransaction, eth_signTransaction, eth_createAccessList)."""

from __future__ import annotations

from node.calls.message import CallArgs
from node.errors import SERVER_ERROR, RpcError

DEFAULT_TIP = 1_000_000_000  # 1 gwei: eth_maxPriorityFeePerGas, and the tip a sender leaves out


def fee_defaults(args: CallArgs, base_fee: int, gas_price: int) -> CallArgs:
    """geth's setFeeDefaults on a London chain: `base_fee` is the head's (geth: max fee 2 × it +
    tip); a type 0 or 1 named without a price gets `gas_price` (what eth_gasPrice suggests)."""
    if args.gas_price is not None and (args.max_fee is not None or args.max_priority_fee is not None):
        raise RpcError(SERVER_ERROR, "both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    if args.gas_price is not None and args.authorizations is not None:
        raise RpcError(SERVER_ERROR, "both gasPrice and authorizationList specified")
    if args.gas_price is not None:
        if args.gas_price == 0:
            raise RpcError(SERVER_ERROR, "gasPrice must be non-zero after london fork")
        return args
    if args.max_fee is not None and args.max_priority_fee is not None:
        if args.max_fee == 0:
            raise RpcError(SERVER_ERROR, "maxFeePerGas must be non-zero")
        _ordered(args.max_fee, args.max_priority_fee)
        return args
    if args.type_id in (0, 1):  # a legacy price was asked for by type: the suggested one
        return args.with_(gas_price=gas_price)
    tip = args.max_priority_fee if args.max_priority_fee is not None else DEFAULT_TIP
    fee = args.max_fee if args.max_fee is not None else tip + 2 * base_fee
    _ordered(fee, tip)
    return args.with_(max_fee=fee, max_priority_fee=tip)


def _ordered(fee: int, tip: int) -> None:
    if fee < tip:
        raise RpcError(SERVER_ERROR, f"maxFeePerGas ({fee}) < maxPriorityFeePerGas ({tip})")
