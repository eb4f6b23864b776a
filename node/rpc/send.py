"""eth_sendTransaction and eth_signTransaction for the node's accounts, as geth makes the
transaction (internal/ethapi SendTransaction, SignTransaction, setDefaults, ToTransaction).

Every field the caller gives is kept: type, gasPrice, maxFeePerGas, maxPriorityFeePerGas,
accessList, authorizationList, nonce, gas, chainId, value, input. Defaults fill only what is left
out: fees (tip 1 gwei, max fee 2 × the head's base fee + tip; a type 0 or 1 named without a price
gets eth_gasPrice), the pool's next nonce, the gas eth_estimateGas finds, the chain id. The type
is the one named, else the one the fields need: authorizationList 4, gasPrice with an accessList 1
(geth would drop the list), gasPrice 0, otherwise 2.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eth_utils import to_checksum_address

from node.abc import RpcBackendAPI, RpcHandler
from node.calls.message import ZERO_ADDRESS, CallArgs, call_type, unsigned
from node.errors import SERVER_ERROR, RpcError, TxRejected
from node.rpc import txargs
from node.rpc.fees import DEFAULT_TIP, fee_defaults
from node.rpc.format import hb, signed_tx_json
from node.rpc.sign import Keys


def refuse(message: str) -> RpcError:
    return RpcError(SERVER_ERROR, message)


class SendMethods:
    """Part of the eth namespace: transactions the node signs."""

    def __init__(
        self,
        backend: RpcBackendAPI,
        keys: Keys,
        next_base_fee: Callable[[], int],
        estimate: Callable[[CallArgs], Awaitable[int]],
    ) -> None:
        self.chain = backend.chain
        self.pool = backend.txpool
        self.keys = keys
        self.next_base_fee = next_base_fee
        self.estimate = estimate  # eth_estimateGas on the latest block

    def methods(self) -> dict[str, RpcHandler]:
        return {"eth_sendTransaction": self.send_transaction, "eth_signTransaction": self.sign_transaction}

    async def send_transaction(self, tx: Any) -> str:
        args = txargs.parse(tx)
        self.keys.lookup(args.sender or ZERO_ADDRESS)  # geth finds the wallet first
        signed = self._sign(await self.fill(args))
        try:
            return hb(self.pool.add(signed))
        except TxRejected as exc:
            raise refuse(str(exc)) from exc

    async def sign_transaction(self, tx: Any) -> dict:
        """geth's {raw, tx}: gas, a price and the nonce must be given (nothing is looked up)."""
        args = txargs.parse(tx)
        if args.gas is None:
            raise refuse("gas not specified")
        if args.gas_price is None and (args.max_priority_fee is None or args.max_fee is None):
            raise refuse("missing gasPrice or maxFeePerGas/maxPriorityFeePerGas")
        if args.nonce is None:
            raise refuse("nonce not specified")
        signed = self._sign(await self.fill(args))
        return {"raw": hb(signed.encode()), "tx": signed_tx_json(signed)}

    async def fill(self, args: CallArgs) -> CallArgs:
        """geth's setDefaults: fees, value, nonce, the creation checks, gas, chain id."""
        head = self.chain.head
        args = fee_defaults(args, head.base_fee_per_gas, self.next_base_fee() + DEFAULT_TIP)
        sender = args.sender or ZERO_ADDRESS
        if args.nonce is None:
            args = args.with_(nonce=self.pool.nonce_of(sender))
        if args.to is None:
            if not args.data:
                raise refuse("contract creation without any data provided")
            if args.authorizations:
                raise refuse('authorizationList provided for contract creation, but "to" field is missing')
        if args.authorizations is not None and not args.authorizations:
            raise refuse(f"EIP-7702 transaction with empty auth list (sender {to_checksum_address(sender)})")
        if args.gas is None:
            args = args.with_(gas=await self.estimate(args.with_(nonce=None, chain_id=None)))
        want = self.chain.chain_id
        if args.chain_id is not None and args.chain_id != want:
            raise refuse(f"chainId does not match node's (have={args.chain_id}, want={want})")
        return args.with_(chain_id=want)

    def _sign(self, args: CallArgs) -> Any:
        sender = args.sender or ZERO_ADDRESS
        tx = unsigned(args, args.nonce, args.gas, args.chain_id, call_type(args))
        return self.keys.sign_transaction(tx, sender, args.chain_id)
