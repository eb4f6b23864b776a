"""Soak a real consortium (too slow for `make test`): the fault scenarios of tests/e2e/manifests/
and tests/e2e/soak/ (kill -9 mid-stream, 3 | 1 and 2 | 2 splits, two validators down, a byzantine
validator, votes), N rounds on one live network of 4 validators and a member, every p2p link
through a proxy. Each round renames the validators by a seeded permutation, so that each of them
is the one killed, cut off or voted out in turn. After every scenario the e2e runner checks on
every node: one chain, a quorum of valid seals on every block, every acknowledged transaction
committed in the same block everywhere, and progress once the perturbations end.

The scenarios and the runner are the test suite's own (tests/e2e/): this script runs them with
pytest, it does not import them.

    .venv/bin/python scripts/soak_consortium.py --cycles 5 [--seed 1] [--dir /tmp/soak]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", default="", help="keep the networks (and node logs) under this folder")
    args = parser.parse_args()
    scenarios = "tests/e2e/test_scenarios.py::test_scenario"
    command = [sys.executable, "-m", "pytest", scenarios, "-v", "-x", "-p", "no:cacheprovider",
               f"--soak-cycles={args.cycles}", f"--soak-seed={args.seed}"]  # fmt: skip
    if args.dir:
        command.append(f"--basetemp={args.dir}")
    sys.exit(subprocess.call(command, cwd=ROOT))


if __name__ == "__main__":
    main()
