"""ENS names resolve through web3's own normaliser (ENSIP-15), end to end on anvil.

web3 8.0.0 crashes in `normalize_name` with pyunormalize 18 (it passes a list where 18 wants a
string); pyproject pins the release that works. web3 resolves through the Universal Resolver at
its mainnet address, so the test places a small one there with `anvil_setCode`; it checks that
the DNS-encoded name web3 sends and the namehash in the call agree, then answers from its table.
"""

from __future__ import annotations

import pytest
from ens import ENS
from ens.constants import UNIVERSAL_RESOLVER_ADDR
from ens.exceptions import InvalidName
from ens.utils import normalize_name
from eth_utils import keccak
from web3 import Web3

from consortium.client import Transactor
from harness.processes import DEV_KEYS
from tests.support.anvil import anvil
from tests.support.solidity import compile_source

RESOLVER = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract MiniUniversalResolver {
    mapping(bytes32 => address) public addrOf;
    function setAddr(bytes32 node, address a) external { addrOf[node] = a; }
    function resolve(bytes calldata name, bytes calldata data) external view returns (bytes memory, address) {
        bytes32 node = namehash(name, 0);
        require(bytes32(data[4:36]) == node, "name and namehash differ");
        return (abi.encode(addrOf[node]), address(this));
    }
    function namehash(bytes calldata name, uint256 i) internal pure returns (bytes32) {
        uint256 len = uint8(name[i]);
        if (len == 0) return bytes32(0);
        return keccak256(abi.encodePacked(namehash(name, i + 1 + len), keccak256(name[i + 1:i + 1 + len])));
    }
}
"""


def namehash(name: str) -> bytes:
    node = b"\0" * 32
    for label in reversed(name.split(".")):
        node = keccak(node + keccak(text=label))
    return node


def test_normaliser_folds_case_and_emoji_and_refuses_empty_labels():
    assert normalize_name("RaFFY🚴\u200d♂️.eTh") == "raffy🚴\u200d♂.eth"
    assert normalize_name("Ｈｕｂａｏ.eth") == "hubao.eth"
    with pytest.raises(InvalidName):
        normalize_name("hubao..eth")


def test_a_mixed_case_emoji_name_resolves_through_web3(tmp_path):
    artifact = compile_source(RESOLVER, "MiniUniversalResolver")
    with anvil(tmp_path) as url:
        w3 = Web3(Web3.HTTPProvider(url))
        sender = Transactor(w3, DEV_KEYS[0])
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        deployed = sender.send(factory.constructor(), gas=1_000_000)["contractAddress"]
        w3.provider.make_request(
            "anvil_setCode", [UNIVERSAL_RESOLVER_ADDR, w3.eth.get_code(deployed).to_0x_hex()]
        )
        resolver = w3.eth.contract(address=UNIVERSAL_RESOLVER_ADDR, abi=artifact["abi"])
        member = w3.eth.account.create().address
        sender.send(resolver.functions.setAddr(namehash("alice🌱.hubao.eth"), member), gas=100_000)
        names = ENS.from_web3(w3)
        assert names.address("Alice🌱.HUBAO.eth") == member
        assert names.address("bob.hubao.eth") is None
        assert w3.ens.address("ALICE🌱.hubao.eth") == member
