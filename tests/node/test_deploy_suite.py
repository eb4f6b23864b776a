"""The mutual-aid suite deploys to the dev node through scripts/deploy.py and is usable there."""

from __future__ import annotations

import subprocess
import sys

from web3 import Web3

from consortium.client import Deployment, is_deployed
from harness.processes import ROOT
from node.genesis import dev_accounts


def deploy(url: str, key: bytes, out) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/deploy.py", "--rpc", url, "--key", "0x" + key.hex(), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_deploy_script_against_the_dev_node(dev_node, w3, tmp_path):
    key = dev_accounts(6)[5][1]
    out = tmp_path / "deployment.json"
    first = deploy(dev_node.url, key, out)
    assert first.returncode == 0, first.stderr[-3000:]
    deployment = Deployment.load(out)
    assert deployment.chain_id == 1337
    assert is_deployed(w3, deployment)
    for address in deployment.addresses.values():
        assert len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0
    height = w3.eth.block_number
    again = deploy(dev_node.url, key, out)
    assert again.returncode == 0 and "nothing sent" in again.stdout
    assert w3.eth.block_number == height
