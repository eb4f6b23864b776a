"""scripts/deploy.py against a standard node that is not ours (anvil from npm, started here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from consortium.client import ContractRefusal, Deployment, Suite, is_deployed
from harness.processes import DEV_ADDRESSES, DEV_KEYS, free_port, wait_for_rpc

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"


@pytest.fixture(scope="module")
def anvil(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("anvil") / "anvil.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(ANVIL), "--port", str(port), "--silent", "--chain-id", "31338"], stdout=out, stderr=out
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_rpc(url, proc, timeout=30, log=log)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def deploy(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "deploy.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_script_wires_roles_and_does_not_redeploy(anvil, tmp_path):
    params = tmp_path / "params.toml"
    params.write_text(
        "[rules]\nwaiting_period = 600\nmin_votes = 5\n\n"
        f'[roles]\norganisations = ["{DEV_ADDRESSES[1]}", "{DEV_ADDRESSES[2]}", "{DEV_ADDRESSES[3]}"]\n'
        f'operator = "{DEV_ADDRESSES[1]}"\nenroller = "{DEV_ADDRESSES[2]}"\n'
    )
    key_file = tmp_path / "deployer.key"
    key_file.write_text(DEV_KEYS[0] + "\n")
    out = tmp_path / "deployment.json"

    first = deploy("--rpc", anvil, "--key-file", str(key_file), "--params", str(params), "--out", str(out))
    assert first.returncode == 0, first.stderr
    data = json.loads(out.read_text())
    assert data["chain_id"] == 31338 and data["rules"]["waiting_period"] == 600
    w3 = Web3(HTTPProvider(anvil))
    d = Deployment.load(out)
    assert is_deployed(w3, d) and d.block <= w3.eth.block_number

    suite = Suite(w3, d)
    assert suite.membership.call("waitingPeriod") == 600
    assert suite.jury.call("minVotes") == 5
    assert suite.pool.call("hasRole", keccak(text="OPERATOR_ROLE"), DEV_ADDRESSES[1])
    assert suite.membership.call("hasRole", keccak(text="ENROLLER_ROLE"), DEV_ADDRESSES[2])
    assert suite.token.call("hasRole", keccak(text="TREASURER_ROLE"), DEV_ADDRESSES[0])  # default: deployer
    assert not suite.token.call("hasRole", b"\0" * 32, DEV_ADDRESSES[0])
    assert suite.governor.organisations() == DEV_ADDRESSES[1:4]

    height = w3.eth.block_number
    again = deploy("--rpc", anvil, "--key", DEV_KEYS[0], "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "already deployed" in again.stdout
    assert w3.eth.block_number == height  # nothing sent

    # refusals on a standard node come back decoded, from gas estimation
    with pytest.raises(ContractRefusal) as err:
        suite.as_(DEV_KEYS[3]).membership.exit()
    assert err.value.name == "NotAMember" and err.value.args_ == (DEV_ADDRESSES[3],)


def test_deploy_script_reports_bad_input_in_one_line(anvil, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[rules]\nwaiting_days = 3\n")
    result = deploy(
        "--rpc", anvil, "--key", DEV_KEYS[0], "--params", str(bad), "--out", str(tmp_path / "d.json")
    )
    assert result.returncode != 0 and "unknown rule(s): waiting_days" in result.stderr
    assert not (tmp_path / "d.json").exists()
    both = deploy("--rpc", anvil, "--out", str(tmp_path / "d.json"))
    assert both.returncode != 0 and "exactly one of --key and --key-file" in both.stderr
