// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// A small contract that exercises what clients rely on: storage writes, events, reverts with a
/// reason and with a custom error, and a view.
contract Probe {
    error TooBig(uint256 value, uint256 limit);

    event Stored(address indexed who, uint256 indexed value, string note);

    uint256 public value;
    mapping(address => uint256) public writes;

    function store(uint256 v, string calldata note) external {
        if (v > 1_000_000) revert TooBig(v, 1_000_000);
        value = v;
        writes[msg.sender] += 1;
        emit Stored(msg.sender, v, note);
    }

    function fail() external pure {
        require(false, "probe says no");
    }

    function burn(uint256 rounds) external {
        for (uint256 i = 0; i < rounds; i++) {
            writes[address(uint160(i + 1))] = i + 1;
        }
    }
}
