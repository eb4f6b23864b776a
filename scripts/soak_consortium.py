"""Soak a real consortium (too slow for `make test`): 4 validators + 1 member as OS processes, every
p2p link through a controllable proxy, under a steady stream of transfers, for N cycles of:

  kill -9 a random validator mid-round, restart it      (no committed transaction may be lost)
  cut one validator off (3 | 1), heal                   (majority goes on, the lone one catches up)
  split 2 | 2, heal                                     (nothing is final while split)
  SIGTERM two validators, restart                       (chain halts without a fork, then recovers)

After every cycle: every node has the same block at every height, each with a quorum of valid seals,
and every receipt seen so far is still there, in the same block, on every node.

    .venv/bin/python scripts/soak_consortium.py --cycles 5 [--dir /tmp/soak]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.consortium import ProxiedNet  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--dir", default="")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = Path(args.dir or tempfile.mkdtemp(prefix="hubao-soak-"))
    net = ProxiedNet.create(
        root, 4, 1, "--block-period", "1", "--empty-block-period", "1", "--request-timeout", "2"
    )
    validators = net.names("validator")
    user = net.accounts["users"][0]["privateKey"]
    receipts: dict[str, str] = {}
    pending: list[str] = []

    def stream(n: int) -> None:
        via = rng.choice(net.running())
        for _ in range(n):
            pending.append(net.send_tx(via, user, "0x" + "33" * 20, value=1))

    def settle() -> None:
        for tx_hash in pending:
            receipts[tx_hash] = net.receipt(validators[0], tx_hash, timeout=120)["blockHash"]
        pending.clear()

    def check(label: str) -> None:
        net.wait_height(net.top() + 1, net.names(), timeout=120)
        height = net.assert_one_chain()
        for name in net.names():
            for tx_hash, block in receipts.items():
                got = net.call(name, "eth_getTransactionReceipt", tx_hash)
                assert got and got["blockHash"] == block, f"{name} lost {tx_hash}"
        print(f"{label:<28} ok: height {height}, {len(receipts)} receipts on all {len(net.names())} nodes")

    started = time.monotonic()
    try:
        net.wait_height(2)
        for cycle in range(1, args.cycles + 1):
            victim = rng.choice(validators)
            stream(10)
            time.sleep(rng.uniform(0.2, 1.5))
            net.kill9(victim)
            stream(10)
            settle()
            net.start(victim)
            check(f"[{cycle}] kill -9 {victim}")

            lone = rng.choice(validators)
            net.split([lone])
            h = net.top()
            net.wait_height(h + 3, [v for v in validators if v != lone], timeout=60)
            net.heal()
            check(f"[{cycle}] 3|1 without {lone}")

            half = rng.sample(validators, 2)
            net.split(half)
            time.sleep(2)
            frozen = net.top(net.names())
            time.sleep(5)
            assert net.top(net.names()) == frozen, "a block became final during a 2|2 split"
            net.heal()
            check(f"[{cycle}] 2|2 {'+'.join(half)}")

            two = rng.sample(validators, 2)
            for v in two:
                net.stop(v)
            time.sleep(5)
            for v in two:
                net.start(v)
            check(f"[{cycle}] halt and restart {'+'.join(two)}")
        print(f"soak passed: {args.cycles} cycles in {time.monotonic() - started:.0f}s, network in {root}")
    finally:
        net.down()


if __name__ == "__main__":
    main()
