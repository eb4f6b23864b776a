"""`hubao node run --dev` without --datadir: a temporary chain, removed on a clean SIGTERM exit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from harness.processes import ROOT, free_port, wait_for_rpc


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


def test_a_second_node_on_the_same_datadir_is_refused(tmp_path):
    from harness.processes import DevNode

    with DevNode.start(tmp_path / "data") as first:
        second = subprocess.run(
            [sys.executable, "-m", "consortium.cli", "node", "run", "--dev", "--port", str(free_port())]
            + ["--datadir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert second.returncode != 0
        assert "in use by another node process" in second.stdout + second.stderr
        assert first.rpc("eth_chainId") == "0x539"
