"""The txpool namespace as geth answers it (internal/ethapi TxPoolAPI): what waits, by checksummed
sender and decimal nonce, split into pending (executable now) and queued (behind a nonce gap)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address

from node.abc import RpcHandler, RpcNamespaceAPI, TxPoolAPI
from node.rpc import params
from node.rpc.format import hx, tx_json


def summary(tx: Any) -> str:
    """geth's one line: recipient, value, gas and gas price (a fee cap's maximum)."""
    price = tx.gas_price if tx.type_id in (None, 1) else tx.max_fee_per_gas
    to = to_checksum_address(tx.to) if tx.to else "contract creation"
    return f"{to}: {tx.value} wei + {tx.gas} gas × {price} wei"


class TxpoolNamespace(RpcNamespaceAPI):
    name = "txpool"

    def __init__(self, txpool: TxPoolAPI) -> None:
        self.txpool = txpool

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "txpool_status": self.status,
            "txpool_content": lambda: self._dump(tx_json),
            "txpool_contentFrom": self.content_from,
            "txpool_inspect": lambda: self._dump(summary),
        }

    def status(self) -> dict[str, str]:
        pending, queued = self.txpool.content()
        count = lambda group: sum(len(txs) for txs in group.values())  # noqa: E731
        return {"pending": hx(count(pending)), "queued": hx(count(queued))}

    def _dump(self, shape: Callable[[Any], Any]) -> dict[str, dict]:
        pending, queued = self.txpool.content()
        return {
            "pending": {to_checksum_address(s): _by_nonce(txs, shape) for s, txs in pending.items()},
            "queued": {to_checksum_address(s): _by_nonce(txs, shape) for s, txs in queued.items()},
        }

    def content_from(self, address: Any) -> dict[str, dict]:
        sender = params.address(address)
        pending, queued = self.txpool.content()
        return {
            "pending": _by_nonce(pending.get(sender, []), tx_json),
            "queued": _by_nonce(queued.get(sender, []), tx_json),
        }


def _by_nonce(txs: list, shape: Callable[[Any], Any]) -> dict[str, Any]:
    return {str(tx.nonce): shape(tx) for tx in txs}
