"""Part of the eth namespace: transactions and receipts, mined or in the pool, as JSON or as the
signed bytes (eth_getRawTransaction*), and eth_sendRawTransaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node.abc import RpcBackendAPI, RpcHandler
from node.chain import BLOCK_CACHE
from node.errors import SERVER_ERROR, RpcError, TxRejected
from node.recent import Recent
from node.rpc import params
from node.rpc.format import hb, receipts_json, tx_json


class TxMethods:
    def __init__(self, backend: RpcBackendAPI, header: Callable[..., Any]) -> None:
        self.backend = backend
        self.chain = backend.chain
        self.pool = backend.txpool
        self.header = header  # block parameter -> header (None when `required=False` and unknown)
        self._receipts = Recent(BLOCK_CACHE)

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionByBlockHashAndIndex": lambda block_hash, index: self._json(
                self._by_hash(block_hash), index
            ),
            "eth_getTransactionByBlockNumberAndIndex": lambda block, index: self._json(
                self._by_number(block), index
            ),
            "eth_getRawTransactionByHash": self.get_raw_transaction_by_hash,
            "eth_getRawTransactionByBlockHashAndIndex": lambda block_hash, index: self._raw(
                self._by_hash(block_hash), index
            ),
            "eth_getRawTransactionByBlockNumberAndIndex": lambda block, index: self._raw(
                self._by_number(block), index
            ),
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getBlockReceipts": self.get_block_receipts,
        }

    def send_raw_transaction(self, raw: str) -> str:
        payload = params.data(raw, "raw transaction")
        try:
            return hb(self.pool.add(payload))
        except TxRejected as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc

    def _find(self, tx_hash: Any) -> tuple[Any, Any, int | None]:
        """(transaction, its block or None when pooled, index) of a hash; (None, None, None)."""
        h = params.hash32(tx_hash)
        loc = self.chain.get_transaction_location(h)
        if loc is None:
            return self.pool.get(h), None, None
        block = self.chain.get_block_by_hash(loc.block_hash)
        return block.transactions[loc.index], block, loc.index

    def get_transaction_by_hash(self, tx_hash: str) -> dict | None:
        tx, block, index = self._find(tx_hash)
        if tx is None:
            return None
        return tx_json(tx, block.header, index) if block is not None else tx_json(tx)

    def get_raw_transaction_by_hash(self, tx_hash: str) -> str:
        """The signed bytes; geth answers "0x" for a hash it does not know."""
        tx, _, _ = self._find(tx_hash)
        return hb(tx.encode()) if tx is not None else "0x"

    def _by_hash(self, block_hash: Any):
        return self.chain.get_block_by_hash(params.hash32(block_hash))

    def _by_number(self, block: Any):
        header = self.header(block, required=False)
        return None if header is None else self.chain.get_block_by_hash(header.hash)

    @staticmethod
    def _at(block, index: Any):
        i = params.quantity(index, "index")
        return (None, i) if block is None or i >= len(block.transactions) else (block.transactions[i], i)

    def _json(self, block, index: Any) -> dict | None:
        tx, i = self._at(block, index)
        return None if tx is None else tx_json(tx, block.header, i)

    def _raw(self, block, index: Any) -> str:
        tx, _ = self._at(block, index)
        return "0x" if tx is None else hb(tx.encode())

    # -- receipts ------------------------------------------------------------------------------
    def receipts_json(self, block_hash: bytes) -> list[dict]:
        """A block's receipts as JSON, made once per block: each needs the earlier ones' gas and logs.

        Looked up before touching the block, so polling one receipt of a recent block costs no
        decoding or formatting of its siblings.
        """
        cached = self._receipts.get(block_hash)
        if cached is None:
            chain = self.chain
            reverts = chain.get_revert_data if self.backend.revert_reason else None
            block, receipts = chain.get_block_by_hash(block_hash), chain.get_receipts(block_hash)
            cached = self._receipts.put(block_hash, receipts_json(block, receipts, reverts))
        return cached

    def get_transaction_receipt(self, tx_hash: str) -> dict | None:
        loc = self.chain.get_transaction_location(params.hash32(tx_hash))
        if loc is None:
            return None
        return self.receipts_json(loc.block_hash)[loc.index]

    def get_block_receipts(self, block: Any) -> list | None:
        header = self.header(block, required=False)
        if header is None:
            return None
        return self.receipts_json(header.hash)
