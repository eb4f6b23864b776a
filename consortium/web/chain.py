"""The chain as the pages see it: a read-only `Suite` over JSON-RPC, checked against the deployment
file, and the suite's few-per-claim events (claims, jury, periods) read once and kept.

Reads are blocking web3 calls, so they run on a small thread pool; a node that does not answer, or
a deployment that is not on the node's chain, becomes `Unavailable` with a sentence for the page.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from web3 import Web3

from consortium.client import Deployment, Suite, connect, is_deployed
from consortium.client.reads import blocks

LOG_CHUNK = 50_000  # blocks per eth_getLogs (the node refuses ranges over 100,000)

# the events the board is made of: a few per claim or per period, never one per member
BOARD_EVENTS = {
    "claims": (
        "ClaimSubmitted", "ClaimRefusedInWaitingPeriod", "ClaimApproved", "ClaimRejected", "ClaimObjected",
        "ClaimDisputed", "DisputeExtended", "ClaimAccepted", "ClaimDenied", "ClaimLapsed",
    ),
    "jury": ("CaseOpened", "CaseExtended", "CaseClosedWith"),
    "pool": ("PeriodClosed", "ClaimantPaid"),
}  # fmt: skip


class Unavailable(Exception):
    """What the page says instead of its content: the node is down, or the deployment is not there."""


@dataclass(frozen=True)
class Event:
    contract: str
    name: str
    args: dict
    block: int
    index: int  # position in the block
    time: int  # the block's timestamp


class EventLog:
    """The board's events from the deployment block on, oldest first; each refresh reads only the
    blocks it has not seen (a chain that went back, as a dev chain's evm_revert, is read again)."""

    def __init__(self, suite: Suite) -> None:
        self.suite = suite
        self.events: list[Event] = []
        self.next_block = suite.deployment.block
        self._lock = threading.Lock()
        self._by_topic: dict[str, tuple[str, Any]] = {}
        for attr, names in BOARD_EVENTS.items():
            contract = getattr(suite, attr).contract
            for name in names:
                event = getattr(contract.events, name)()
                self._by_topic[event.topic.lower()] = (attr, event)

    def topics(self) -> dict[str, tuple[str, str]]:
        """topic0 -> (contract, event name) of every event kept."""
        return {t: (attr, e.event_name) for t, (attr, e) in self._by_topic.items()}

    def refresh(self, head: int) -> list[Event]:
        with self._lock:
            if head < self.next_block - 1:
                self.events, self.next_block = [], self.suite.deployment.block
            start = self.next_block
            logs: list = []
            for lo in range(start, head + 1, LOG_CHUNK):
                logs += self._logs(lo, min(head, lo + LOG_CHUNK - 1))
            times = block_times(self.suite.w3, sorted({log["blockNumber"] for log in logs}))
            for log in logs:
                attr, event = self._by_topic[log["topics"][0].to_0x_hex()]
                args = dict(event.process_log(log)["args"])
                n = log["blockNumber"]
                self.events.append(Event(attr, event.event_name, args, n, log["logIndex"], times[n]))
            self.next_block = max(self.next_block, head + 1)
            return list(self.events)

    def _logs(self, lo: int, hi: int) -> list:
        s = self.suite
        return s.w3.eth.get_logs(
            {
                "address": [s.claims.address, s.jury.address, s.pool.address],
                "topics": [list(self._by_topic)],
                "fromBlock": lo,
                "toBlock": hi,
            }
        )


def block_times(w3: Web3, numbers: list[int]) -> dict[int, int]:
    """Timestamps of the given blocks, read in JSON-RPC batches."""
    return {int(b["number"], 16): int(b["timestamp"], 16) for b in blocks(w3, numbers)}


class ChainSource:
    """The node at `rpc` and the suite of `deployment_path` (None: the console alone)."""

    def __init__(self, rpc: str, deployment_path: Path | None, timeout: float = 5.0) -> None:
        self.rpc = rpc
        self.deployment_path = deployment_path
        self.w3 = connect(rpc, timeout=timeout)
        self.deployment = Deployment.load(deployment_path) if deployment_path else None
        self.suite = Suite(self.w3, self.deployment) if self.deployment else None
        self.events = EventLog(self.suite) if self.suite else None
        self._checked = False
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="hubao-web")
        self._memo: dict[str, tuple[Any, Any]] = {}

    async def read(self, fn, *args, suite: bool = True) -> Any:
        """`fn(*args)` on the thread pool; `suite=True` first checks the deployment is on this chain."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._guarded, fn, args, suite)

    async def memo(self, name: str, key: Any, fn, *args) -> Any:
        """`fn(*args)` again only when `key` changed since the last call under `name`."""
        seen = self._memo.get(name)
        if seen is not None and seen[0] == key:
            return seen[1]
        value = await self.read(fn, *args)
        self._memo[name] = (key, value)
        return value

    def _guarded(self, fn, args: tuple, suite: bool) -> Any:
        try:
            if suite:
                self._check()
            return fn(*args)
        except Unavailable:
            self._checked = False
            raise
        except (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError):
            self._checked = False
            raise Unavailable(f"no node answers at {self.rpc}: is it running?") from None

    def _check(self) -> None:
        if self._checked:
            return
        d = self.deployment
        if d is None:
            raise Unavailable("no deployment file given: start `hubao web` with --deployment FILE")
        chain_id = self.w3.eth.chain_id
        if chain_id != d.chain_id:
            raise Unavailable(
                f"the deployment file {self.deployment_path} is for chain {d.chain_id}, "
                f"but the node at {self.rpc} runs chain {chain_id}"
            )
        if not is_deployed(self.w3, d):
            raise Unavailable(
                f"the contracts named in {self.deployment_path} are not on the chain of the node at "
                f"{self.rpc} (chain {chain_id}): was the chain reset after deploying?"
            )
        self._checked = True

    def head(self) -> dict:
        block = self.w3.eth.get_block("latest")
        return {"number": block["number"], "hash": block["hash"].to_0x_hex(), "timestamp": block["timestamp"]}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
