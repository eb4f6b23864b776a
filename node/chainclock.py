"""The movable consortium clock: an offset on chain that every node adds to its scaled clock.

Networks made for simulations (`hubao net init --movable-clock`) predeploy
`contracts/system/ConsortiumClock.sol` in genesis at `CLOCK_ADDRESS` (also in genesis
`config.hubao.clock.contract`). Its timekeeper account moves the clock forward with
`advanceTo(timestamp)`, which adds to `offset` (slot 0). The node reads that slot directly from the
state at its head, once at start and again at every new head, and hands it to its `ScaledClock`:
after the block that holds the advance, every node stamps and checks blocks on the moved clock.
The slot numbers here mirror the contract's declaration order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eth_utils import to_canonical_address

from node.abc import ChainAPI

if TYPE_CHECKING:
    from eth.abc import BlockHeaderAPI

    from node.timescale import ScaledClock

CLOCK_ADDRESS = "0x0000000000000000000000000000000000008889"

SLOT_OFFSET = 0
SLOT_TIMEKEEPER = 1


def genesis_storage(timekeeper: str) -> dict[int, int]:
    """The contract's storage at genesis: offset 0, the timekeeper in slot 1."""
    return {SLOT_TIMEKEEPER: int.from_bytes(to_canonical_address(timekeeper), "big")}


class ClockOffset:
    """Keeps a ScaledClock's offset equal to the on-chain one at the chain's head."""

    def __init__(self, chain: ChainAPI, clock: ScaledClock, address: str = CLOCK_ADDRESS) -> None:
        self.chain = chain
        self.clock = clock
        self.address = to_canonical_address(address)
        self._unsubscribe = None

    def offset(self, header: BlockHeaderAPI | None = None) -> int:
        header = header if header is not None else self.chain.head
        return self.chain.state_at(header).get_storage(self.address, SLOT_OFFSET)

    def timekeeper(self, header: BlockHeaderAPI | None = None) -> str:
        header = header if header is not None else self.chain.head
        raw = self.chain.state_at(header).get_storage(self.address, SLOT_TIMEKEEPER)
        return "0x" + raw.to_bytes(20, "big").hex()

    def refresh(self, header: BlockHeaderAPI | None = None) -> int:
        self.clock.offset = self.offset(header)
        return self.clock.offset

    def follow(self) -> None:
        """Read the offset now and at every new head (before the engine schedules the next
        height: it does so with call_soon, after the head's subscribers have run)."""
        self.refresh()
        self._unsubscribe = self.chain.subscribe_new_heads(lambda block, receipts: self.refresh(block.header))

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
