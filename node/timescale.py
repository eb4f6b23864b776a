"""The consortium's scaled clock: simulated time that runs `timescale` times faster than real time.

Genesis `config.hubao.clock` fixes the mapping for every node: `simEpoch + (wall - realEpoch) *
timescale + offset`. Nodes that agree on wall time (NTP) agree on chain time, so validators can check
a proposal's timestamp against their own clock with a tolerance scaled the same way. `offset` is 0
unless the network has a movable clock: then it is the on-chain ConsortiumClock's offset, the same
for every node at the same head, kept current by node/chainclock.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from node.abc import ClockAPI


class ScaledClock(ClockAPI):
    def __init__(
        self,
        timescale: float = 1.0,
        real_epoch: float = 0.0,
        sim_epoch: float = 0.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if timescale <= 0:
            raise ValueError("timescale must be positive")
        self.timescale = timescale
        self.real_epoch = real_epoch
        self.sim_epoch = sim_epoch
        self.offset = 0  # chain seconds the consortium's movable clock has been advanced
        self._wall = wall

    @classmethod
    def from_genesis(cls, genesis: dict) -> ScaledClock:
        """From a genesis.json dict; a genesis without `config.hubao.clock` runs at real time."""
        clock = genesis.get("config", {}).get("hubao", {}).get("clock", {})
        return cls(
            timescale=float(clock.get("timescale", 1)),
            real_epoch=float(clock.get("realEpoch", 0)),
            sim_epoch=float(clock.get("simEpoch", 0)),
        )

    def now(self) -> float:
        return self.sim_epoch + (self._wall() - self.real_epoch) * self.timescale + self.offset

    def real_seconds(self, chain_seconds: float) -> float:
        """How long (wall seconds) a span of chain time takes."""
        return chain_seconds / self.timescale

    def chain_seconds(self, real_seconds: float) -> float:
        return real_seconds * self.timescale
