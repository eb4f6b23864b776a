"""The mutual-aid suite deploys to the dev node through the client library and is usable there."""

from __future__ import annotations

from web3 import Web3

from consortium.client import deploy_suite, is_deployed
from node.genesis import dev_accounts


def test_suite_deploys_and_is_redeploy_safe(w3, tmp_path):
    key = dev_accounts(6)[5][1]
    out = tmp_path / "deployment.json"
    deployment = deploy_suite(w3, key, out=out)
    assert deployment.chain_id == 1337
    assert is_deployed(w3, deployment)
    for address in deployment.addresses.values():
        assert len(w3.eth.get_code(Web3.to_checksum_address(address))) > 0
    height = w3.eth.block_number
    assert deploy_suite(w3, key, out=out).addresses == deployment.addresses  # reused, not redeployed
    assert w3.eth.block_number == height
