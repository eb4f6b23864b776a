// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ConsortiumClock
/// @notice A consortium clock that one named account, the timekeeper, can move forward (never
///         back). Predeployed in genesis only for networks made with `hubao net init
///         --movable-clock` (code and storage written there, the timekeeper in slot 1), for
///         simulations that step simulated time explicitly. Every node adds `offset` to its clock
///         (node/chainclock.py reads slot 0 directly at each new head), so after the block that
///         holds `advanceTo(t)` every node's clock, and so every later block's timestamp, is at
///         least about `t`. The layout below is part of the node's contract: do not reorder it.
contract ConsortiumClock {
    // ---- storage layout (slot numbers are read by the node) ----
    uint256 public offset; // slot 0: chain seconds added to every node's clock
    address public timekeeper; // slot 1: the one account that may advance the clock

    event Advanced(uint256 from, uint256 to, uint256 offset);

    error NotTimekeeper(address caller);
    error NotForward(uint256 timestamp, uint256 now);

    /// @notice Move the consortium's clock forward to `timestamp` (chain seconds): the blocks
    ///         after this one are stamped from there on.
    function advanceTo(uint256 timestamp) external {
        if (msg.sender != timekeeper) revert NotTimekeeper(msg.sender);
        if (timestamp <= block.timestamp) revert NotForward(timestamp, block.timestamp);
        offset += timestamp - block.timestamp;
        emit Advanced(block.timestamp, timestamp, offset);
    }
}
