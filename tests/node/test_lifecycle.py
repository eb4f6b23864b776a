"""`hubao node run --dev` without --datadir: a temporary chain, removed on a clean SIGTERM exit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT, free_port, wait_for_rpc


def test_sigterm_exits_cleanly_and_removes_the_temporary_chain():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "consortium.cli", "node", "run", "--dev", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    wait_for_rpc(f"http://127.0.0.1:{port}", proc)
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    datadir = Path(re.search(r"Data directory: (\S+)", out).group(1))
    assert f"Listening on 127.0.0.1:{port}" in out
    assert not datadir.exists()


def test_refuses_to_run_without_a_mode():
    out = subprocess.run(
        [sys.executable, "-m", "consortium.cli", "node", "run"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 2 and "--dev" in out.stderr
