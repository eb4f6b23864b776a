"""A ratchet on scripts/conformance.py: every case our dev node answers as geth does today keeps
being answered so. The script starts its own node (its cases change state: anvil_reset wipes it);
anvil is left out here, the script compares both when run by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.processes import ROOT

BASELINE = Path(__file__).with_name("conformance_baseline.json")


def test_every_case_hubao_passed_still_passes(tmp_path):
    out = tmp_path / "outcomes.json"
    run = subprocess.run(
        [sys.executable, "scripts/conformance.py", "--only", "hubao", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1].startswith("passed: hubao ")
    outcomes = json.loads(out.read_text())["hubao"]
    baseline = json.loads(BASELINE.read_text())
    assert set(baseline) <= set(outcomes), "cases were dropped from the table"
    regressed = {case: outcomes[case] for case in baseline if outcomes[case] is not None}
    assert not regressed, f"cases hubao answered as geth does no longer pass: {regressed}"
