// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// What a trace must show: nested calls of every kind, creations, a caught revert, logs in frames
/// that fail and frames that do not, a precompile, a self-destruct and a call refused for its value.
contract Child {
    uint256 public x;

    event Hello(uint256 v);

    constructor() payable {}

    function set(uint256 v) external payable {
        x = v;
        emit Hello(v);
    }

    function boom() external {
        emit Hello(1);
        revert("child says no");
    }

    function ping() external view returns (uint256) {
        return x;
    }

    function bye(address payable to) external {
        selfdestruct(to);
    }
}

contract Tracee {
    uint256 public a;
    uint256 public b;
    Child public child;

    event Step(uint256 indexed n);

    function run() external payable {
        a = 1;
        b = 2;
        emit Step(1);
        child = new Child{value: 1}();
        Child c2 = new Child{salt: bytes32(uint256(7))}();
        child.set{value: 10}(5);
        try child.boom() {} catch {}
        uint256 got = child.ping();
        (bool ok,) = address(c2).delegatecall(abi.encodeWithSignature("set(uint256)", got));
        require(ok);
        emit Step(uint256(sha256(abi.encodePacked(got))));
        b = 0;
        c2.bye(payable(msg.sender));
        payable(address(0xdead)).transfer(1);
    }

    function broke() external {
        a = 3;
        (bool ok,) = address(child).call{value: 10 ** 30}("");
        require(!ok);
        emit Step(2);
    }

    function fail() external {
        a = 9;
        revert("nope");
    }

    function spin(uint256 rounds) external {
        for (uint256 i = 0; i < rounds; i++) {
            b = i;
        }
    }

    receive() external payable {}
}
