"""Throughput and time to finality of a 4-validator QBFT consortium against py-evm itself.

The same pre-signed transactions as `scripts/bench_node.py` -- (a) ETH transfers, (b) contract calls
that write storage -- go, in the same run, through:
  1. py-evm directly (MiningChain.mine_all on full blocks: the execution limit), and
  2. a real consortium: 4 validator processes (`hubao net init` + `hubao node run --config`),
     transactions sent over JSON-RPC to one validator, gossiped, proposed, executed by every
     validator, committed under QBFT. A transaction's time to finality runs from its submission to
     the arrival of the block that holds it (a QBFT-committed block is final).
Prints throughput and p50/p99 time to finality, and last the line `consortium/py-evm = X.XX`.
Four validators each execute every block on two cores, so 0.50 is the physical ceiling. Each
workload runs `--rounds` times on each system (nonces continue); the fastest round counts.

    .venv/bin/python scripts/bench_consortium.py [--transfers 2000] [--calls 2000] [--block-period 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.table import Table  # noqa: E402

from consortium.network.genesis import QbftSettings  # noqa: E402
from consortium.network.layout import free_base_port, init_network  # noqa: E402
from consortium.network.processes import start_node, stop_node, wait_for_blocks  # noqa: E402
from node.genesis import DEV_BALANCE, dev_accounts  # noqa: E402

# The workloads, the py-evm baseline and the measuring helpers are bench_node's: one definition.
sys.path.insert(0, str(ROOT / "scripts"))
import bench_node as bench  # noqa: E402


def submit_and_wait(rpc, arrivals: dict, workload, batch: int) -> bench.Result:
    first_block = int(rpc.call("eth_blockNumber"), 16) + 1
    sent_at = [0.0] * len(workload.raws)
    started = time.perf_counter()
    for start in range(0, len(workload.raws), batch):
        chunk = workload.raws[start : start + batch]
        body = json.dumps(
            [
                {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": ["0x" + r.hex()]}
                for i, r in enumerate(chunk)
            ]  # fmt: skip
        ).encode()
        t = time.perf_counter()
        errors = [r["error"] for r in rpc.post(body) if "error" in r]
        if errors:
            raise RuntimeError(f"the consortium refused transactions: {errors[:3]}")
        sent_at[start : start + len(chunk)] = [t] * len(chunk)
    # Blocks hold whatever the proposer's pool had: collect them until every transaction is in one.
    where: dict[str, int] = {}
    number, wanted = first_block, set(workload.hashes)
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
    latencies = [arrivals[where[h]] - sent_at[i] for i, h in enumerate(workload.hashes)]
    result = bench.Result(
        "consortium", workload.name, len(workload.raws), arrivals[last_block] - started, latencies
    )
    result.blocks = last_block - first_block + 1
    return result


def bench_consortium(deploy: bytes, workloads, batch: int, block_period: int, validators: int,
                     keep: Path | None = None, request_timeout: int = 4) -> list:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="hubao-bench-") as tmp:
        root = keep or Path(tmp)
        entries = init_network(
            root,
            validators,
            base_port=free_base_port(validators),
            chain_id=bench.CHAIN_ID,
            users=0,
            qbft=QbftSettings(
                blockperiodseconds=block_period,
                emptyblockperiodseconds=max(block_period, 2),
                requesttimeoutseconds=request_timeout,
            ),
            extra_funded={address: DEV_BALANCE for address, _ in dev_accounts(10)},
        )
        try:
            for entry in entries:
                start_node(root, entry)
            wait_for_blocks(root, entries, height=1, timeout=90)
            port = entries[0].rpc_port
            rpc = bench.Rpc(port)
            arrivals: dict[int, float] = {}
            stop = threading.Event()
            threading.Thread(target=bench.watch_heads, args=(port, arrivals, stop), daemon=True).start()
            time.sleep(0.3)
            deploy_hash = rpc.call("eth_sendRawTransaction", "0x" + deploy.hex())
            while rpc.call("eth_getTransactionReceipt", deploy_hash) is None:
                time.sleep(0.02)
            results = [submit_and_wait(rpc, arrivals, wl, batch) for wl in workloads]
            heads = {
                e.name: bench.Rpc(e.rpc_port).call("eth_getBlockByNumber", "latest", False) for e in entries
            }
            stop.set()
            low = min(int(h["number"], 16) for h in heads.values())
            hashes = {
                bench.Rpc(e.rpc_port).call("eth_getBlockByNumber", hex(low), False)["hash"] for e in entries
            }
            if len(hashes) != 1:
                raise RuntimeError(f"validators disagree at height {low}: {hashes}")
            return results
        finally:
            for entry in entries:
                stop_node(root, entry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=200, help="transactions per JSON-RPC batch")
    parser.add_argument("--block-period", type=int, default=1, help="QBFT blockperiodseconds")
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each workload; the best one counts")
    parser.add_argument("--request-timeout", type=int, default=4, help="QBFT requesttimeoutseconds")
    parser.add_argument("--keep", type=Path, help="build the network in this folder and keep its logs")
    args = parser.parse_args()
    console = bench.console

    with console.status("pre-signing transactions"):
        deploy, workloads = bench.presign(args.transfers, args.calls, args.rounds)
    with console.status("py-evm directly"):
        pyevm = bench.bench_pyevm(deploy, workloads)
    with console.status(f"{args.validators}-validator consortium over JSON-RPC"):
        consortium = bench_consortium(
            deploy, workloads, args.batch, args.block_period, args.validators, args.keep, args.request_timeout
        )
    pyevm, consortium = bench.best(pyevm), bench.best(consortium)

    table = Table(
        title=f"Hubao consortium benchmark ({args.validators} validators, block period {args.block_period}s)"
    )
    for col in ("system", "workload", "txs", "blocks", "seconds", "tx/s", "p50 ms", "p99 ms"):
        table.add_column(col, justify="right" if col not in ("system", "workload") else "left")
    for r in pyevm + consortium:
        table.add_row(r.system, r.workload, str(r.count), str(getattr(r, "blocks", "-")), f"{r.seconds:.2f}",
                      f"{r.tps:.0f}", f"{r.pct(0.5) * 1000:.0f}", f"{r.pct(0.99) * 1000:.0f}")  # fmt: skip
    console.print(table)
    console.print("p50/p99 for the consortium: time to finality (submission -> committed block arrives)")

    def total(results) -> float:
        return sum(r.count for r in results) / sum(r.seconds for r in results)

    print(f"consortium/py-evm = {total(consortium) / total(pyevm):.2f}")


if __name__ == "__main__":
    main()
