"""What the soak measures while a phase runs (calm, then attacked): an honest client on every
running node (tests/support/hostile.LatencyProbe, in a process of its own, so the attackers'
threads cannot slow its measurements), and each node's resident memory, sampled every second.

    with Phase(net, names) as phase:
        with phase.window("idle"):     # nothing but the attacks (if any): the empty-block heartbeat
            ...
        with phase.window("simulate"):
            ...                        # hubao simulate
    phase.result()                     # per node: p50, p99, errors, RSS first/peak/last; blocks/s
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time

from consortium.network.processes import pid_of
from harness.probes import LatencyProbe, rss_mib

PROBE_INTERVAL = 0.05  # seconds between one honest client's eth_blockNumber calls


def honest_clients(urls: dict[str, str], ready, stop, out) -> None:
    """In its own process: a LatencyProbe per node, `ready` once each has its first answer (at
    most 30 s), until `stop`; then its figures into `out`."""
    probes = {name: LatencyProbe(url, interval=PROBE_INTERVAL) for name, url in urls.items()}
    for probe in probes.values():
        probe.__enter__()
    deadline = time.monotonic() + 30
    while not all(p.heights for p in probes.values()) and time.monotonic() < deadline:
        time.sleep(0.02)
    ready.set()
    stop.wait()
    for probe in probes.values():
        probe.__exit__(None, None, None)
    out.put(
        {n: {"latencies": p.latencies, "errors": p.errors, "heights": p.heights} for n, p in probes.items()}
    )


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else None


def alive(net, name: str) -> bool:
    pid = pid_of(net.root / name)
    try:
        return bool(pid) and rss_mib(pid) > 0
    except (OSError, RuntimeError):
        return False


class Phase:
    """Honest clients and memory samples on the nodes `names` of `net`, for one `with` block."""

    def __init__(self, net, names: list[str]) -> None:
        self.net, self.names = net, names
        spawn = multiprocessing.get_context("spawn")
        self._ready, self._stop, self._out = spawn.Event(), spawn.Event(), spawn.Queue()
        urls = {n: net.url(n) for n in names}
        args = (urls, self._ready, self._stop, self._out)
        self._process = spawn.Process(target=honest_clients, args=args, daemon=True)
        self._sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self.rss: dict[str, list[float]] = {n: [] for n in names}
        self.died: set[str] = set()
        self.probes: dict = {}
        self.seconds = 0.0
        self.windows: dict[str, list[tuple[float, float]]] = {"idle": [], "simulate": []}

    @contextlib.contextmanager
    def window(self, kind: str):
        """A stretch of the phase whose block rate is reported apart (time.monotonic is one clock
        for every process on the machine, the probe's too)."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.windows[kind].append((began, time.monotonic()))

    def _sample(self) -> None:
        while not self._sampling.is_set():
            for name in self.names:
                if alive(self.net, name):
                    self.rss[name].append(rss_mib(pid_of(self.net.root / name)))
                else:
                    self.died.add(name)
            self._sampling.wait(1.0)

    def __enter__(self) -> Phase:
        self._process.start()
        self._ready.wait(60)
        self._sampler.start()
        self._began = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.monotonic() - self._began
        self._sampling.set()
        self._stop.set()
        try:
            self.probes = self._out.get(timeout=30)
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
        self._sampler.join(5)

    def result(self) -> dict:
        """Per node: the honest client's p50/p99 (s), errors and answers, RSS first/half-time/peak/
        last (MiB); for the whole phase: blocks per second and the longest wait for a block."""
        nodes = {}
        for name in self.names:
            probe, rss = self.probes.get(name, {}), self.rss[name] or [0.0]
            latencies = probe.get("latencies", [])
            nodes[name] = {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                           "answers": len(latencies), "errors": probe.get("errors", 0),
                           "rss_first": rss[0], "rss_half": rss[len(rss) // 2], "rss_peak": max(rss),
                           "rss_last": rss[-1],
                           "died": name in self.died}  # fmt: skip
        heights = self.probes.get(self.names[0], {}).get("heights", [])
        gaps = [b[0] - a[0] for a, b in zip(heights, heights[1:], strict=False)]
        rates = {f"blocks_per_second_{kind}": rate(heights, spans) for kind, spans in self.windows.items()}
        return {"seconds": round(self.seconds, 1), "nodes": nodes, **rates,
                "longest_block_wait": max(gaps, default=0.0)}  # fmt: skip


def rate(heights: list[tuple[float, int]], spans: list[tuple[float, float]]) -> float | None:
    """Blocks per second over the spans, from the probe's (time, height) changes."""

    def at(t: float) -> int | None:
        seen = [h for when, h in heights if when <= t]
        return seen[-1] if seen else None

    blocks, seconds = 0, 0.0
    for began, ended in spans:
        first, last = at(began), at(ended)
        if first is not None and last is not None:
            blocks, seconds = blocks + last - first, seconds + ended - began
    return blocks / seconds if seconds else None
