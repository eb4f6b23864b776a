// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// What the call-family tests read and write: a slot, a payment, an event, panics, and the block
/// context a call runs in (so overrides can be seen from inside).
contract Calls {
    uint256 public value;
    mapping(address => uint256) public paid;

    event Stored(address indexed who, uint256 indexed value, uint256 note);

    function store(uint256 v) external payable {
        value = v;
        paid[msg.sender] += msg.value;
        emit Stored(msg.sender, v, msg.value);
    }

    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }

    function context()
        external
        view
        returns (uint256 number, uint256 time, address coinbase, uint256 basefee, uint256 balance, uint256 limit)
    {
        return (block.number, block.timestamp, block.coinbase, block.basefee, msg.sender.balance, block.gaslimit);
    }

    function forward(address payable to) external payable {
        to.transfer(msg.value);
    }
}
