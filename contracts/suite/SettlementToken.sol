// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// RMB on chain, in fen (2 decimals). Only the treasurer creates money (a member's deposit) and
/// destroys it (a withdrawal to a bank account), so every fen on chain is backed off chain.
/// The pool holds COLLECTOR_ROLE: it draws members' shares by the auto-debit mandates it keeps in
/// its own record of each member (one storage slot there), not by ERC-20 allowances (a nonce and an
/// allowance slot here per member). Only the consortium's vote grants the role.
contract SettlementToken is ERC20, ERC20Permit, AccessControl {
    bytes32 public constant TREASURER_ROLE = keccak256("TREASURER_ROLE");
    bytes32 public constant COLLECTOR_ROLE = keccak256("COLLECTOR_ROLE");

    constructor(address admin) ERC20("Hubao RMB", "HBRMB") ERC20Permit("Hubao RMB") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function decimals() public pure override returns (uint8) {
        return 2;
    }

    function mint(address to, uint256 amount) external onlyRole(TREASURER_ROLE) {
        _mint(to, amount);
    }

    /// The same deposit for many holders in one transaction (a day's new members), so funding
    /// thousands of people is a few transactions, not one per person from one account.
    function mintEach(address[] calldata to, uint256 amount) external onlyRole(TREASURER_ROLE) {
        for (uint256 i; i < to.length; ++i) {
            _mint(to[i], amount);
        }
    }

    /// Moves `amount` from `from` to the collector; false, moving nothing, when the balance is short.
    function collectFrom(address from, uint256 amount) external onlyRole(COLLECTOR_ROLE) returns (bool) {
        if (balanceOf(from) < amount) return false;
        _transfer(from, msg.sender, amount);
        return true;
    }

    /// Burns from the treasurer's own balance: a holder cashes out by sending fen to the treasurer.
    function burn(uint256 amount) external onlyRole(TREASURER_ROLE) {
        _burn(msg.sender, amount);
    }
}
