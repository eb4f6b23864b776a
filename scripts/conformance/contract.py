"""The contract every node under test runs the same requests against."""

from __future__ import annotations

from consortium.compiler import compile_source

SOURCE = """
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Conformance {
    uint256 public value;
    mapping(address => uint256) public writes;

    event Stored(address indexed who, uint256 indexed value);

    function store(uint256 v) external {
        value = v;
        writes[msg.sender] += 1;
        emit Stored(msg.sender, v);
    }

    function fail() external pure {
        revert("conformance says no");
    }

    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }

    function relay(Conformance other, uint256 v) external {
        other.store(v);
        emit Stored(msg.sender, v);
    }

    function number() external view returns (uint256) {
        return block.number;
    }
}
"""


def artifact() -> dict:
    return compile_source(SOURCE, "Conformance")
