"""The dev chain's JSON-RPC controls, by anvil's and hardhat's names, over a `DevControlAPI`:
namespace `evm` (evm_mine, evm_increaseTime, evm_setNextBlockTimestamp, evm_snapshot, evm_revert)
and namespace `anvil` (anvil_mine). Offered by the dev sealer, so only a dev node has them."""

from __future__ import annotations

from typing import Any

from node.abc import DevControlAPI, RpcNamespaceAPI
from node.errors import SERVER_ERROR, RpcError
from node.rpc import params

MAX_MINE = 10_000  # blocks one anvil_mine may seal


class EvmNamespace(RpcNamespaceAPI):
    name = "evm"

    def __init__(self, controls: DevControlAPI) -> None:
        self.controls = controls

    def methods(self) -> dict[str, Any]:
        return {
            "evm_mine": self.mine,
            "evm_increaseTime": self.increase_time,
            "evm_setNextBlockTimestamp": self.set_next_block_timestamp,
            "evm_snapshot": self.snapshot,
            "evm_revert": self.revert,
        }

    def mine(self, timestamp: Any = None) -> str:
        """Seal one block now with whatever is pending (optionally at a given timestamp)."""
        if isinstance(timestamp, dict):  # hardhat/ganache style {"timestamp": t, "blocks": n}
            timestamp = timestamp.get("timestamp")
        if timestamp is not None:
            self.set_next_block_timestamp(timestamp)
        self.controls.mine()
        return "0x0"

    def increase_time(self, seconds: Any) -> int:
        return self.controls.increase_time(params.quantity(seconds, "seconds"))

    def set_next_block_timestamp(self, timestamp: Any) -> None:
        try:
            self.controls.set_next_block_timestamp(params.quantity(timestamp, "timestamp"))
        except ValueError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from None

    def snapshot(self) -> str:
        return hex(self.controls.snapshot())

    def revert(self, snapshot_id: Any) -> bool:
        return self.controls.revert(params.quantity(snapshot_id, "snapshot id"))


class AnvilNamespace(RpcNamespaceAPI):
    name = "anvil"

    def __init__(self, controls: DevControlAPI) -> None:
        self.controls = controls

    def methods(self) -> dict[str, Any]:
        return {"anvil_mine": self.mine}

    def mine(self, blocks: Any = None, interval: Any = None) -> None:
        """Seal `blocks` blocks (default 1), moving the clock `interval` seconds before each."""
        count = params.quantity(blocks, "blocks") if blocks is not None else 1
        step = params.quantity(interval, "interval") if interval is not None else 0
        for _ in range(min(count, MAX_MINE)):
            if step:
                self.controls.increase_time(step)
            self.controls.mine()
        return None
