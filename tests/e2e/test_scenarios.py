"""Network fault scenarios over real node processes: every manifest in tests/e2e/manifests/ runs
against a live network (4 validators and a member, each its own OS process, every p2p link through
a proxy), then the invariants are checked: one chain, a quorum of valid seals on every block, no
acknowledged transaction lost, progress once the perturbations end. Format: docs/testing.md."""

from __future__ import annotations

import pytest

from harness.network import NetworkSpec
from tests.e2e.manifest import Manifest

pytestmark = pytest.mark.timeout(300)

# a tiny counter: any call with calldata increments slot 0, a call without returns it
RUNTIME = "3615600f57600054600101600055005b60005460005260206000f3"
INIT = "601b80600b6000396000f3" + RUNTIME


def test_validators_and_member_agree_and_a_contract_works_through_any_node(networks):
    runner = networks.runner(NetworkSpec())
    net = runner.net
    deployer = net.key("deployer")
    tx_hash = net.send_tx("member-0", deployer, None, data="0x" + INIT, gas=200_000)
    runner.invariants.acknowledged.append(tx_hash)
    receipt = net.receipt("validator-2", tx_hash)
    assert receipt["status"] == "0x1"
    counter = receipt["contractAddress"]
    for via in ("validator-1", "validator-3", "member-0"):
        runner.invariants.acknowledged.append(net.send_tx(via, deployer, counter, data="0x01", gas=60_000))
    last = max(
        int(net.receipt("validator-0", tx)["blockNumber"], 16) for tx in runner.invariants.acknowledged
    )
    net.wait_height(last, net.names())
    for name in net.names():
        assert int(net.call(name, "eth_call", {"to": counter}, "latest"), 16) == 3
        assert net.call(name, "eth_getCode", counter, "latest") == "0x" + RUNTIME
    runner.invariants.check()


def test_scenario(scenario: Manifest, networks):
    runner = networks.runner(scenario.network)
    try:
        runner.run(scenario)
    except BaseException:
        networks.discard()  # whatever state it is in, the next scenario starts on a fresh network
        raise
