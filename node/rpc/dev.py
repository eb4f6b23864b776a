"""Dev-chain methods (anvil / hardhat names): evm_mine, evm_increaseTime, evm_setNextBlockTimestamp,
evm_snapshot, evm_revert. Only registered in --dev mode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.errors import SERVER_ERROR, RpcError
from node.rpc import params

if TYPE_CHECKING:
    from node.service import Node


class DevNamespace:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.snapshots: dict[int, tuple[int, float]] = {}  # id -> (head number, clock offset)
        self._next_id = 1

    def methods(self) -> dict[str, Any]:
        return {
            "evm_mine": self.mine,
            "anvil_mine": self.anvil_mine,
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
        self.node.producer.seal()
        return "0x0"

    def anvil_mine(self, blocks: Any = None, interval: Any = None) -> None:
        count = params.quantity(blocks, "blocks") if blocks is not None else 1
        step = params.quantity(interval, "interval") if interval is not None else 0
        for _ in range(min(count, 10_000)):
            if step:
                self.node.clock.increase(step)
            self.node.producer.seal()
        return None

    def increase_time(self, seconds: Any) -> int:
        return self.node.clock.increase(params.quantity(seconds, "seconds"))

    def set_next_block_timestamp(self, timestamp: Any) -> None:
        ts = params.quantity(timestamp, "timestamp")
        if ts <= self.node.chain.head.timestamp:
            raise RpcError(
                SERVER_ERROR,
                f"timestamp {ts} is lower than or equal to previous block's timestamp "
                f"{self.node.chain.head.timestamp}",
            )
        self.node.clock.set_next_block_timestamp(ts)
        return None

    def snapshot(self) -> str:
        sid = self._next_id
        self._next_id += 1
        self.snapshots[sid] = (self.node.chain.head.block_number, self.node.clock.offset)
        return hex(sid)

    def revert(self, snapshot_id: Any) -> bool:
        sid = params.quantity(snapshot_id, "snapshot id")
        saved = self.snapshots.get(sid)
        if saved is None:
            return False
        number, offset = saved
        for later in [s for s in self.snapshots if s >= sid]:
            del self.snapshots[later]
        self.node.chain.rewind(number)
        self.node.clock.offset = offset
        self.node.clock.next_timestamp = None
        return True
