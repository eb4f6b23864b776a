"""The consortium's movable clock (ConsortiumClock, predeployed by `hubao net init --movable-clock`):
its timekeeper moves every node's clock forward, for simulations that step simulated time.

Read and moved through its ABI over JSON-RPC like any contract; the nodes read the same offset
from the contract's storage themselves (node/chainclock.py)."""

from __future__ import annotations

import time

from web3 import Web3

from consortium.client.contracts import Bound
from consortium.client.errors import ContractRefusal
from consortium.client.tx import Transactor

CLOCK_ADDRESS = "0x0000000000000000000000000000000000008889"
"""Where genesis predeploys the contract (a system address, like the allowlist's 0x...8888)."""
ADVANCE_GAS = 100_000  # flat, sent without an estimate: a move uses about 30,000


class ChainClock(Bound):
    artifact = "ConsortiumClock"

    def __init__(self, w3: Web3, key: str | None = None, address: str = CLOCK_ADDRESS) -> None:
        super().__init__(w3, address, Transactor(w3, key) if key else None)

    @property
    def movable(self) -> bool:
        """Whether this network has a movable clock (the contract is in its genesis)."""
        return len(self.w3.eth.get_code(self.address)) > 0

    @property
    def timekeeper(self) -> str:
        return self.call("timekeeper")

    @property
    def offset(self) -> int:
        """Chain seconds the clock has been moved forward in all."""
        return self.call("offset")

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance_to(self, timestamp: int, timeout: float = 60, stamped: bool = True) -> int:
        """Move the clock to `timestamp` (signed by the timekeeper's key) and wait for a block
        stamped at or after it, so that calls on "latest" see the new time; returns the latest
        block's timestamp. With `stamped=False` it returns once the move is in a block: whatever is
        sent afterwards lands in a later block, stamped at or after `timestamp`, a block sooner.
        Nothing is sent when the latest block is already there, or gets there by itself meanwhile
        (NotForward then only means that time caught up). Other refusals (NotTimekeeper) raise
        ContractRefusal."""
        deadline = time.monotonic() + timeout
        moving = self.move(timestamp)
        if moving is None:
            return self.latest_timestamp()
        self.landed(moving, timeout)
        return self.wait_for(timestamp, deadline - time.monotonic()) if stamped else self.latest_timestamp()

    def move(self, timestamp: int, latest: int | None = None):
        """Send the move to `timestamp` without awaiting it (the Pending; None when the latest
        block, stamped `latest` if the caller just read it, is already there): `landed` awaits it."""
        if (self.latest_timestamp() if latest is None else latest) >= timestamp:
            return None
        return self.send("advanceTo", int(timestamp), gas=ADVANCE_GAS, wait=False)

    @staticmethod
    def landed(moving, timeout: float = 60):
        """Await a move `move` sent (its receipt); a NotForward refusal only means that time caught
        up (None)."""
        try:
            return moving.wait(timeout)
        except ContractRefusal as refusal:
            if refusal.name != "NotForward":
                raise
        return None

    def wait_for(self, timestamp: int, timeout: float = 60) -> int:
        """Wait for a block stamped at or after `timestamp`; returns its timestamp."""
        deadline = time.monotonic() + timeout
        while (latest := self.latest_timestamp()) < timestamp:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no block at or after {timestamp} in {timeout}s (latest {latest})")
            time.sleep(0.05)
        return latest
