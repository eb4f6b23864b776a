"""What every hostile test measures while an attack runs against a real node process: the node's
resident memory, the latency an honest client sees, and whether blocks keep coming.

    with LatencyProbe(node.url) as probe:      # eth_blockNumber every 50 ms from a thread
        attack()
    assert probe.p99() < 0.2 and probe.errors == 0
    assert rss_mib(node.proc.pid) - before < 50
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from harness.processes import rpc


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class LatencyProbe:
    """An honest client: `eth_blockNumber` every `interval` seconds, each answer's latency kept,
    and `heights`: (time.monotonic() when answered, the height) whenever the height changed."""

    def __init__(self, url: str, interval: float = 0.05, timeout: float = 5.0) -> None:
        self.url, self.interval, self.timeout = url, interval, timeout
        self.latencies: list[float] = []
        self.heights: list[tuple[float, int]] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                height = int(rpc(self.url, "eth_blockNumber", timeout=self.timeout), 16)
                self.latencies.append(time.perf_counter() - started)
                if not self.heights or self.heights[-1][1] != height:
                    self.heights.append((time.monotonic(), height))
            except Exception:
                self.errors += 1
            self._stop.wait(self.interval)

    def p99(self) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            raise AssertionError("the probe got no answer at all")
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def __enter__(self) -> LatencyProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 1)


def wait_for_blocks(url: str, count: int, timeout: float) -> float:
    """Wait until `count` more blocks are committed; returns the seconds they took."""
    start = int(rpc(url, "eth_blockNumber"), 16)
    began = time.monotonic()
    deadline = began + timeout
    while int(rpc(url, "eth_blockNumber"), 16) < start + count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} blocks in {timeout}s after #{start}")
        time.sleep(0.05)
    return time.monotonic() - began
