// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ConsortiumAllowlist
/// @notice The consortium's account and node allowlists, changed only by a majority of the member
///         organisations' admin accounts. Predeployed in genesis (code and storage written by
///         `hubao net init`), so every node reads it from block 0. Nodes read the storage slots
///         directly when they check a sender or a peer; the layout below is therefore part of the
///         node's contract and must not be reordered (see node/permissioning.py).
contract ConsortiumAllowlist {
    enum Kind {
        Account,
        Node,
        Admin
    }

    struct Proposal {
        Kind kind;
        address target;
        bool add;
        bool executed;
    }

    // ---- storage layout (slot numbers are read by the node) ----
    address[] private _admins; // slot 0
    mapping(address => bool) public isAdmin; // slot 1
    address[] private _accounts; // slot 2
    mapping(address => uint256) private _accountIndex; // slot 3: position + 1, 0 = not allowed
    address[] private _nodes; // slot 4
    mapping(address => uint256) private _nodeIndex; // slot 5: position + 1, 0 = not allowed
    uint256 public proposalCount; // slot 6
    mapping(uint256 => Proposal) public proposals; // slot 7
    mapping(uint256 => mapping(address => bool)) public approvedBy; // slot 8

    event Proposed(uint256 indexed id, Kind kind, address indexed target, bool add, address indexed by);
    event Approved(uint256 indexed id, address indexed by, uint256 approvals, uint256 admins);
    event Executed(uint256 indexed id, Kind kind, address indexed target, bool add);

    error NotAdmin(address caller);
    error UnknownProposal(uint256 id);
    error AlreadyExecuted(uint256 id);
    error AlreadyApproved(uint256 id, address admin);
    error NoChange(Kind kind, address target, bool add);
    error LastAdmin();

    modifier onlyAdmin() {
        if (!isAdmin[msg.sender]) revert NotAdmin(msg.sender);
        _;
    }

    /// @dev Used when deployed by a transaction (tests); genesis writes the same storage directly.
    constructor(address[] memory admins_, address[] memory accounts_, address[] memory nodes_) {
        for (uint256 i = 0; i < admins_.length; i++) _setAdmin(admins_[i], true);
        for (uint256 i = 0; i < accounts_.length; i++) _setListed(_accounts, _accountIndex, accounts_[i], true);
        for (uint256 i = 0; i < nodes_.length; i++) _setListed(_nodes, _nodeIndex, nodes_[i], true);
    }

    // ---- reads ----
    function isAccountAllowed(address account) external view returns (bool) {
        return _accountIndex[account] != 0;
    }

    function isNodeAllowed(address node) external view returns (bool) {
        return _nodeIndex[node] != 0;
    }

    function getAccounts() external view returns (address[] memory) {
        return _accounts;
    }

    function getNodes() external view returns (address[] memory) {
        return _nodes;
    }

    function getAdmins() external view returns (address[] memory) {
        return _admins;
    }

    /// @notice Approvals a proposal has from the *current* admins (admins may change meanwhile).
    function approvals(uint256 id) public view returns (uint256 count) {
        for (uint256 i = 0; i < _admins.length; i++) {
            if (approvedBy[id][_admins[i]]) count++;
        }
    }

    // ---- governance: a strict majority of admins changes a list ----
    function propose(Kind kind, address target, bool add) external onlyAdmin returns (uint256 id) {
        if (_isListed(kind, target) == add) revert NoChange(kind, target, add);
        id = ++proposalCount;
        proposals[id] = Proposal(kind, target, add, false);
        emit Proposed(id, kind, target, add, msg.sender);
        _approve(id);
    }

    function approve(uint256 id) external onlyAdmin {
        if (id == 0 || id > proposalCount) revert UnknownProposal(id);
        _approve(id);
    }

    function _approve(uint256 id) private {
        Proposal storage p = proposals[id];
        if (p.executed) revert AlreadyExecuted(id);
        if (approvedBy[id][msg.sender]) revert AlreadyApproved(id, msg.sender);
        approvedBy[id][msg.sender] = true;
        uint256 count = approvals(id);
        emit Approved(id, msg.sender, count, _admins.length);
        if (count * 2 > _admins.length) {
            p.executed = true;
            if (p.kind == Kind.Account) _setListed(_accounts, _accountIndex, p.target, p.add);
            else if (p.kind == Kind.Node) _setListed(_nodes, _nodeIndex, p.target, p.add);
            else _setAdmin(p.target, p.add);
            emit Executed(id, p.kind, p.target, p.add);
        }
    }

    function _isListed(Kind kind, address target) private view returns (bool) {
        if (kind == Kind.Account) return _accountIndex[target] != 0;
        if (kind == Kind.Node) return _nodeIndex[target] != 0;
        return isAdmin[target];
    }

    function _setAdmin(address admin, bool add) private {
        if (add) {
            if (isAdmin[admin]) return;
            isAdmin[admin] = true;
            _admins.push(admin);
            return;
        }
        if (!isAdmin[admin]) return;
        if (_admins.length == 1) revert LastAdmin();
        isAdmin[admin] = false;
        for (uint256 i = 0; i < _admins.length; i++) {
            if (_admins[i] == admin) {
                _admins[i] = _admins[_admins.length - 1];
                _admins.pop();
                return;
            }
        }
    }

    function _setListed(
        address[] storage list,
        mapping(address => uint256) storage index,
        address who,
        bool add
    ) private {
        if (add) {
            if (index[who] != 0) return;
            list.push(who);
            index[who] = list.length;
            return;
        }
        uint256 pos = index[who];
        if (pos == 0) return;
        address last = list[list.length - 1];
        list[pos - 1] = last;
        index[last] = pos;
        list.pop();
        delete index[who];
    }
}
