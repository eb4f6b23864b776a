// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Multiread
/// @notice Many reads of one contract in one eth_call. Never deployed: a client puts this code at
/// an address of its own with eth_call's state override, so one call carries hundreds of view
/// calls and the node runs one call instead of hundreds (each with its own transaction set-up).
contract Multiread {
    /// Each of `calls` (calldata for `target`) as a static call: whether it succeeded and what it
    /// returned (its revert data when it failed).
    function each(address target, bytes[] calldata calls)
        external
        view
        returns (bool[] memory ok, bytes[] memory results)
    {
        ok = new bool[](calls.length);
        results = new bytes[](calls.length);
        for (uint256 i = 0; i < calls.length; ++i) {
            (ok[i], results[i]) = target.staticcall(calls[i]);
        }
    }
}
