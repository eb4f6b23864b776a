"""eth_call, eth_estimateGas and eth_createAccessList as geth answers them, run off the event loop
(`ChainAPI.calls`: a call worker with its own snapshot), with geth's state and block overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node.abc import ChainAPI, RpcHandler
from node.calls.engine import outcome_error
from node.rpc import overrides, txargs
from node.rpc.fees import DEFAULT_TIP, fee_defaults
from node.rpc.format import access_list_json, hb, hx


class CallMethods:
    """Part of the eth namespace: the methods that execute code without a transaction."""

    def __init__(
        self, chain: ChainAPI, header: Callable[[Any], Any], next_base_fee: Callable[[], int]
    ) -> None:
        self.chain = chain
        self.header = header  # block parameter -> header (latest when None)
        self.next_base_fee = next_base_fee

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_createAccessList": self.create_access_list,
        }

    def _env(self, block: Any, state: Any = None, block_overrides: Any = None, arg: int = 2):
        header = self.header(block)
        return self.chain.calls.env(
            header, overrides.block_overrides(block_overrides, arg + 1), overrides.state_overrides(state, arg)
        )

    async def call(self, tx: Any, block: Any = None, state: Any = None, block_overrides: Any = None) -> str:
        args = txargs.parse(tx)
        outcome = await self.chain.calls.call(self._env(block, state, block_overrides), args)
        if outcome.error is not None:
            raise outcome_error(outcome)
        return hb(outcome.output)

    async def estimate_gas(
        self, tx: Any, block: Any = None, state: Any = None, block_overrides: Any = None
    ) -> str:
        args = txargs.parse(tx)
        return hx(await self.chain.calls.estimate(self._env(block, state, block_overrides), args))

    async def create_access_list(self, tx: Any, block: Any = None, state: Any = None) -> dict:
        args = txargs.parse(tx)
        env = self._env(block, state)
        args = fee_defaults(args, env.parent.base_fee_per_gas, self.next_base_fee() + DEFAULT_TIP)
        entries, gas_used, error = await self.chain.calls.access_list(env, args)
        out: dict[str, Any] = {"accessList": access_list_json(entries)}
        if error is not None:
            out["error"] = error
        out["gasUsed"] = hx(gas_used)
        return out
