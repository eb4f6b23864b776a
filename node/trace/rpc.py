"""The debug_* namespace: geth's transaction, call and block traces (eth/tracers/api.go)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.abc import RpcNamespaceAPI
from node.errors import SERVER_ERROR, RpcError
from node.rpc import blocks, params
from node.trace import config as trace_config
from node.trace.replay import trace_block, trace_call, trace_transaction

if TYPE_CHECKING:
    from eth.abc import BlockAPI

    from node.abc import ChainAPI


class DebugNamespace(RpcNamespaceAPI):
    """Tracing for debuggers, explorers and `cast run`; each trace is a replay (see replay.py)."""

    name = "debug"

    def __init__(self, chain: ChainAPI) -> None:
        self.chain = chain

    def methods(self) -> dict[str, Any]:
        return {
            "debug_traceTransaction": self.trace_transaction,
            "debug_traceCall": self.trace_call,
            "debug_traceBlockByNumber": self.trace_block_by_number,
            "debug_traceBlockByHash": self.trace_block_by_hash,
        }

    def _block_by_number(self, value: Any) -> BlockAPI:
        ident = params.block_id(value)
        if isinstance(ident, bytes):
            return self._block_by_hash(ident)
        number = blocks.number(self.chain, ident)
        block = self.chain.get_block_by_number(number)
        if block is None:
            raise RpcError(SERVER_ERROR, f"block #{number} not found")
        return block

    def _block_by_hash(self, block_hash: bytes) -> BlockAPI:
        block = self.chain.get_block_by_hash(block_hash)
        if block is None:
            raise RpcError(SERVER_ERROR, f"block 0x{block_hash.hex()} not found")
        return block

    def trace_transaction(self, tx_hash: Any, config: Any = None) -> Any:
        request = trace_config.parse(config, 1)
        location = self.chain.get_transaction_location(params.hash32(tx_hash, "hash"))
        if location is None:
            raise RpcError(SERVER_ERROR, "transaction not found")
        block = self._block_by_hash(location.block_hash)
        return trace_transaction(self.chain, block, location.index, request)

    def trace_call(self, call: Any, block: Any = "latest", config: Any = None) -> Any:
        request = trace_config.parse(config, 2, call=True)
        if params.block_id(block) == "pending":
            raise RpcError(SERVER_ERROR, "tracing on top of pending is not supported")
        target = self._block_by_number(block)
        args = params.call_object(call)
        return trace_call(self.chain, args, target, request)

    def trace_block_by_number(self, number: Any, config: Any = None) -> list[dict]:
        request = trace_config.parse(config, 1)
        return trace_block(self.chain, self._block_by_number(number), request)

    def trace_block_by_hash(self, block_hash: Any, config: Any = None) -> list[dict]:
        request = trace_config.parse(config, 1)
        block = self._block_by_hash(params.hash32(block_hash, "hash"))
        return trace_block(self.chain, block, request)
