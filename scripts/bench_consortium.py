"""Throughput and time to finality of a 4-validator QBFT consortium against py-evm itself.

The same pre-signed transactions as `scripts/bench_node.py` -- (a) ETH transfers, (b) contract calls
that write storage -- go, in the same run, through:
  1. py-evm directly (MiningChain.mine_all on full blocks: the execution limit; bench_node's), and
  2. a real consortium: 4 validator processes (`hubao net init` + `hubao node run --config`),
     transactions sent over JSON-RPC batches to one validator, gossiped, proposed, executed by every
     validator, committed under QBFT. A transaction's time to finality runs from its submission to
     the arrival of the block that holds it (a QBFT-committed block is final).
Rounds interleave the two systems (nonces continue) and the fastest round of each workload counts.
Prints throughput and p50/p99 time to finality, and last the line `consortium/py-evm = X.XX`.
Four validators each execute every block on two cores, so 0.50 is the physical ceiling.

    .venv/bin/python scripts/bench_consortium.py [--transfers 1000] [--calls 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

# The workloads, the py-evm baseline and the measuring helpers are bench_node's: one definition.
import bench_node as bench
from rich.table import Table

from consortium.network.genesis import QbftSettings
from consortium.network.layout import free_base_port, init_network
from consortium.network.processes import pid_of, start_node, stop_nodes, wait_for_blocks
from node.genesis import DEV_BALANCE, dev_accounts


class ConsortiumBench:
    """`validators` node processes on loopback, JSON-RPC batches to the first one."""

    system = "consortium"

    def __init__(
        self, deploy: bytes, batch: int, validators: int, qbft: QbftSettings, keep: Path | None
    ) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="hubao-bench-")
        self.root = keep or Path(self.tmp.name)
        self.batch = batch
        self.entries = init_network(
            self.root,
            validators,
            base_port=free_base_port(validators),
            chain_id=bench.CHAIN_ID,
            users=0,
            qbft=qbft,
            extra_funded={address: DEV_BALANCE for address, _ in dev_accounts(10)},
            force=True,
        )
        for entry in self.entries:
            start_node(self.root, entry)
        wait_for_blocks(self.root, self.entries, height=1, timeout=90)
        self.pids = [pid_of(self.root / e.folder) for e in self.entries]
        port = self.entries[0].rpc_port
        self.rpc = bench.Rpc(port)
        self.arrivals: dict[int, float] = {}
        self.stop = threading.Event()
        threading.Thread(target=bench.watch_heads, args=(port, self.arrivals, self.stop), daemon=True).start()
        time.sleep(0.3)
        h = self.rpc.call("eth_sendRawTransaction", "0x" + deploy.hex())
        while self.rpc.call("eth_getTransactionReceipt", h) is None:
            time.sleep(0.02)

    def _cpu(self) -> float:
        return sum(bench.cpu_seconds(pid) for pid in self.pids if pid)

    def run(self, wl) -> bench.Result:
        rpc, arrivals = self.rpc, self.arrivals
        first_block = int(rpc.call("eth_blockNumber"), 16) + 1
        sent_at = [0.0] * len(wl.raws)
        cpu0, started = self._cpu(), time.perf_counter()
        for start in range(0, len(wl.raws), self.batch):
            chunk = wl.raws[start : start + self.batch]
            body = json.dumps(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": i,
                        "method": "eth_sendRawTransaction",
                        "params": ["0x" + r.hex()],
                    }
                    for i, r in enumerate(chunk)
                ]  # fmt: skip
            ).encode()
            t = time.perf_counter()
            errors = [r["error"] for r in rpc.post(body) if "error" in r]
            if errors:
                raise RuntimeError(f"the consortium refused transactions: {errors[:3]}")
            sent_at[start : start + len(chunk)] = [t] * len(chunk)
        # Blocks hold whatever the proposer's pool had: follow them until every transaction is in one.
        where: dict[str, int] = {}
        number, wanted = first_block, set(wl.hashes)
        while not wanted <= where.keys():
            block = rpc.call("eth_getBlockByNumber", hex(number), False)
            if block is None:
                time.sleep(0.01)
                continue
            where.update(dict.fromkeys(block["transactions"], number))
            number += 1
        last_block = number - 1
        while last_block not in arrivals:
            time.sleep(0.005)
        finished, cpu = arrivals[last_block], self._cpu() - cpu0
        latencies = [arrivals[where[h]] - sent_at[i] for i, h in enumerate(wl.hashes)]
        result = bench.Result(self.system, wl.name, len(wl.raws), finished - started, latencies)
        result.cpu = cpu
        result.blocks = last_block - first_block + 1
        return result

    def paced(self, wl, rate: float) -> bench.Result:
        """Time to finality at a steady `rate` tx/s (batches every 100 ms), not under a burst."""
        step = max(1, round(rate / 10))
        first_block = int(self.rpc.call("eth_blockNumber"), 16) + 1
        sent_at: dict[str, float] = {}
        started = time.perf_counter()
        for k, start in enumerate(range(0, len(wl.raws), step)):
            time.sleep(max(0.0, started + k * 0.1 - time.perf_counter()))
            body = json.dumps(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": i,
                        "method": "eth_sendRawTransaction",
                        "params": ["0x" + r.hex()],
                    }
                    for i, r in enumerate(wl.raws[start : start + step])
                ]  # fmt: skip
            ).encode()
            t = time.perf_counter()
            errors = [r["error"] for r in self.rpc.post(body) if "error" in r]
            if errors:
                raise RuntimeError(f"the consortium refused transactions: {errors[:3]}")
            sent_at.update(dict.fromkeys(wl.hashes[start : start + step], t))
        where: dict[str, int] = {}
        number = first_block
        while not sent_at.keys() <= where.keys():
            block = self.rpc.call("eth_getBlockByNumber", hex(number), False)
            if block is None:
                time.sleep(0.01)
                continue
            where.update(dict.fromkeys(block["transactions"], number))
            number += 1
        while number - 1 not in self.arrivals:
            time.sleep(0.005)
        latencies = [self.arrivals[where[h]] - sent_at[h] for h in wl.hashes]
        elapsed = time.perf_counter() - started
        result = bench.Result(self.system, f"paced {rate:.0f} tx/s", len(wl.raws), elapsed, latencies)
        result.blocks = number - first_block
        result.cpu = 0.0
        return result

    def check_agreement(self) -> None:
        """Every validator holds the same block at the lowest common height."""
        rpcs = [bench.Rpc(e.rpc_port) for e in self.entries]
        low = min(int(r.call("eth_blockNumber"), 16) for r in rpcs)
        hashes = {r.call("eth_getBlockByNumber", hex(low), False)["hash"] for r in rpcs}
        if len(hashes) != 1:
            raise RuntimeError(f"validators disagree at height {low}: {hashes}")

    def close(self) -> None:
        self.stop.set()
        stop_nodes(self.root, self.entries)
        self.tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200, help="transactions per JSON-RPC batch")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each workload; the best one counts")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--block-period", type=int, default=1, help="QBFT blockperiodseconds")
    parser.add_argument("--request-timeout", type=int, default=4, help="QBFT requesttimeoutseconds")
    parser.add_argument("--rate", type=float, default=25.0, help="tx/s of the steady finality run")
    parser.add_argument("--keep", type=Path, help="build the network in this folder and keep its logs")
    args = parser.parse_args()
    console = bench.console
    qbft = QbftSettings(
        blockperiodseconds=args.block_period,
        requesttimeoutseconds=args.request_timeout,
        emptyblockperiodseconds=max(args.block_period, 2),
    )

    with console.status("pre-signing transactions"):
        deploy, workloads = bench.presign(args.transfers, args.calls, args.rounds + 1)
        paced = workloads[-2]  # the extra round's transfers, for time to finality at a steady rate
        workloads = workloads[:-2]
    with console.status(f"starting py-evm and {args.validators} validator processes"):
        systems = [
            bench.PyEvmBench(deploy),
            ConsortiumBench(deploy, args.batch, args.validators, qbft, args.keep),
        ]
    runs: dict[str, list] = {s.system: [] for s in systems}
    try:
        for i, wl in enumerate(workloads):  # rounds interleave the systems
            for s in systems:
                with console.status(f"round {i // 2 + 1}: {wl.name} on {s.system}"):
                    runs[s.system].append(s.run(wl))
        with console.status(f"time to finality at {args.rate} tx/s"):
            steady = systems[1].paced(paced, args.rate)
        systems[1].check_agreement()
    finally:
        for s in systems:
            s.close()
    chosen = {name: bench.best(results) for name, results in runs.items()}

    table = Table(title=f"Hubao consortium benchmark ({args.validators} validators, block period "
                        f"{args.block_period}s, best round)")  # fmt: skip
    cols = ("system", "workload", "txs", "blocks", "seconds", "tx/s", "tx/CPU-s", "p50 ms", "p99 ms")
    for col in cols:
        table.add_column(col, justify="left" if col in ("system", "workload") else "right")
    for name in runs:
        for r in chosen[name].values():
            table.add_row(r.system, r.workload, str(r.count), str(r.blocks), f"{r.seconds:.2f}",
                          f"{r.tps:.0f}", f"{r.count / r.cpu:.0f}" if r.cpu else "-",
                          f"{r.pct(0.5) * 1000:.0f}", f"{r.pct(0.99) * 1000:.0f}")  # fmt: skip
    r = steady
    table.add_row(r.system, r.workload, str(r.count), str(r.blocks), f"{r.seconds:.2f}", f"{r.tps:.0f}", "-",
                  f"{r.pct(0.5) * 1000:.0f}", f"{r.pct(0.99) * 1000:.0f}")  # fmt: skip
    console.print(table)
    console.print("consortium p50/p99: time to finality (submission to the arrival of its committed block);")
    console.print("consortium tx/CPU-s counts the CPU of all validator processes together.")

    def total(name: str) -> float:
        results = chosen[name].values()
        return sum(r.count for r in results) / sum(r.seconds for r in results)

    def per_cpu(name: str) -> float:
        results = chosen[name].values()
        return sum(r.count for r in results) / sum(r.cpu for r in results)

    console.print(
        f"per CPU second: consortium/py-evm = {per_cpu('consortium') / per_cpu('py-evm'):.2f} "
        f"(all {args.validators} validators execute every block)"
    )
    console.print(
        f"time to finality at {args.rate:.0f} tx/s: p50 {steady.pct(0.5):.2f} s, "
        f"p99 {steady.pct(0.99):.2f} s (block period {args.block_period} s)"
    )
    print(f"consortium/py-evm = {total('consortium') / total('py-evm'):.2f}")


if __name__ == "__main__":
    main()
