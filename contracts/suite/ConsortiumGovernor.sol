// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// The member organisations of the consortium. Any call (role grants, treasury changes, adding or
/// removing an organisation) runs only after a strict majority of the current organisations
/// approved it, so no single operator key can change the rules or move the pool's money.
/// A proposal lives `proposalLifetime` seconds (default 7 days, changed only by a vote, between
/// 1 hour and 365 days): approvals gathered long ago, perhaps from organisations whose keys have
/// since changed hands, cannot pass a call years later; after that it is proposed again.
contract ConsortiumGovernor {
    uint64 public constant DEFAULT_PROPOSAL_LIFETIME = 7 days;
    uint64 public constant MIN_PROPOSAL_LIFETIME = 1 hours;
    uint64 public constant MAX_PROPOSAL_LIFETIME = 365 days;

    struct Proposal {
        address target;
        uint256 value;
        bytes data;
        address proposer;
        bool executed;
        uint64 expiresAt; // approvals and execution only before this
    }

    address[] private _organisations;
    mapping(address => bool) public isOrganisation;
    Proposal[] private _proposals;
    mapping(uint256 => mapping(address => bool)) public hasApproved;
    /// Lifetime of proposals made from now on (each proposal keeps the one it was made with).
    uint64 public proposalLifetime = DEFAULT_PROPOSAL_LIFETIME;

    error NotAnOrganisation(address account);
    error OnlyByConsortiumVote(address caller);
    error UnknownProposal(uint256 id);
    error AlreadyApproved(uint256 id, address organisation);
    error AlreadyExecuted(uint256 id);
    error NoMajority(uint256 id, uint256 approvals, uint256 needed);
    error ProposalCallFailed(uint256 id, bytes reason);
    error AlreadyAnOrganisation(address account);
    error CannotRemoveLastOrganisation();
    error NoOrganisations();
    error ProposalExpired(uint256 id, uint64 expiredAt);
    error LifetimeOutOfRange(uint64 lifetime, uint64 min, uint64 max);

    event ProposalCreated(
        uint256 indexed id, address indexed proposer, address target, uint256 value, bytes data, string description
    );
    event ProposalApproved(uint256 indexed id, address indexed organisation, uint256 approvals);
    event ProposalExecuted(uint256 indexed id, bytes result);
    event OrganisationAdded(address indexed organisation);
    event OrganisationRemoved(address indexed organisation);
    event ProposalLifetimeChanged(uint64 lifetime);

    modifier onlyOrganisation() {
        if (!isOrganisation[msg.sender]) revert NotAnOrganisation(msg.sender);
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert OnlyByConsortiumVote(msg.sender);
        _;
    }

    constructor(address[] memory organisations) {
        if (organisations.length == 0) revert NoOrganisations();
        for (uint256 i; i < organisations.length; ++i) {
            _add(organisations[i]);
        }
    }

    receive() external payable {}

    function organisations() external view returns (address[] memory) {
        return _organisations;
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposal(uint256 id) external view returns (Proposal memory) {
        return _get(id);
    }

    /// Approvals by organisations that are members now (a removed organisation's vote lapses).
    function approvals(uint256 id) public view returns (uint256 count) {
        _get(id);
        for (uint256 i; i < _organisations.length; ++i) {
            if (hasApproved[id][_organisations[i]]) ++count;
        }
    }

    function needed() public view returns (uint256) {
        return _organisations.length / 2 + 1;
    }

    function propose(address target, uint256 value, bytes calldata data, string calldata description)
        external
        onlyOrganisation
        returns (uint256 id)
    {
        id = _proposals.length;
        _proposals.push(Proposal(target, value, data, msg.sender, false, uint64(block.timestamp) + proposalLifetime));
        emit ProposalCreated(id, msg.sender, target, value, data, description);
        _approve(id);
    }

    function approve(uint256 id) external onlyOrganisation {
        _live(id);
        _approve(id);
    }

    function execute(uint256 id) external onlyOrganisation returns (bytes memory result) {
        Proposal storage p = _live(id);
        uint256 count = approvals(id);
        if (count < needed()) revert NoMajority(id, count, needed());
        p.executed = true;
        bool ok;
        (ok, result) = p.target.call{value: p.value}(p.data);
        if (!ok) revert ProposalCallFailed(id, result);
        emit ProposalExecuted(id, result);
    }

    function addOrganisation(address organisation) external onlySelf {
        _add(organisation);
    }

    function setProposalLifetime(uint64 lifetime) external onlySelf {
        if (lifetime < MIN_PROPOSAL_LIFETIME || lifetime > MAX_PROPOSAL_LIFETIME) {
            revert LifetimeOutOfRange(lifetime, MIN_PROPOSAL_LIFETIME, MAX_PROPOSAL_LIFETIME);
        }
        proposalLifetime = lifetime;
        emit ProposalLifetimeChanged(lifetime);
    }

    function removeOrganisation(address organisation) external onlySelf {
        if (!isOrganisation[organisation]) revert NotAnOrganisation(organisation);
        if (_organisations.length == 1) revert CannotRemoveLastOrganisation();
        isOrganisation[organisation] = false;
        for (uint256 i; i < _organisations.length; ++i) {
            if (_organisations[i] == organisation) {
                _organisations[i] = _organisations[_organisations.length - 1];
                _organisations.pop();
                break;
            }
        }
        emit OrganisationRemoved(organisation);
    }

    function _add(address organisation) private {
        if (isOrganisation[organisation]) revert AlreadyAnOrganisation(organisation);
        isOrganisation[organisation] = true;
        _organisations.push(organisation);
        emit OrganisationAdded(organisation);
    }

    function _approve(uint256 id) private {
        if (hasApproved[id][msg.sender]) revert AlreadyApproved(id, msg.sender);
        hasApproved[id][msg.sender] = true;
        emit ProposalApproved(id, msg.sender, approvals(id));
    }

    /// A proposal that may still be approved and executed: neither executed nor expired.
    function _live(uint256 id) private view returns (Proposal storage p) {
        p = _get(id);
        if (p.executed) revert AlreadyExecuted(id);
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(id, p.expiresAt);
    }

    function _get(uint256 id) private view returns (Proposal storage) {
        if (id >= _proposals.length) revert UnknownProposal(id);
        return _proposals[id];
    }
}
