// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICostSharing, IJury, Member, MemberStatus, Rules, Verdict, Wired} from "./Rules.sol";

/// The review board for disputed claims. Jurors are members who passed the exam (qualified by the
/// juror registrar) at least `jurorDelay` earlier, are active members, and are never the claimant.
/// Votes are commit-reveal: a commitment hides the vote until everyone has committed.
contract Jury is IJury, AccessControl, Wired {
    bytes32 public constant JUROR_REGISTRAR_ROLE = keccak256("JUROR_REGISTRAR_ROLE");
    bytes32 public constant SUITE_ROLE = keccak256("SUITE_ROLE");

    struct Case {
        address claimant;
        uint64 commitEndsAt;
        uint64 revealEndsAt;
        uint32 inFavour;
        uint32 against;
        bool extended;
        bool closed;
    }

    uint64 public immutable waitingPeriod;
    uint64 public immutable jurorDelay;
    uint64 public immutable commitDuration;
    uint64 public immutable revealDuration;
    uint32 public immutable minVotes;
    uint16 public immutable minInFavourBps;

    /// Keeps each member's record for Membership: whether a juror is an active member is read there.
    ICostSharing public pool;

    mapping(address => uint64) public qualifiedAt;
    mapping(uint256 => Case) private _cases;
    /// A juror's commitment, replaced by REVEALED once revealed: one slot per juror and case, not two.
    mapping(uint256 => mapping(address => bytes32)) public commitments;
    bytes32 private constant REVEALED = bytes32(uint256(1));

    error NotAQualifiedJuror(address account);
    error JurorNotYetEligible(uint64 eligibleAt);
    error JurorNotActiveMember(address juror);
    error ClaimantCannotVote(uint256 claimId);
    error UnknownCase(uint256 claimId);
    error CaseAlreadyOpen(uint256 claimId);
    error CaseClosed(uint256 claimId);
    error CommitWindowClosed(uint64 closedAt);
    error NotInRevealWindow(uint64 opensAt, uint64 closesAt);
    error AlreadyCommitted(uint256 claimId, address juror);
    error NothingCommitted(uint256 claimId, address juror);
    error AlreadyRevealed(uint256 claimId, address juror);
    error CommitmentMismatch(uint256 claimId, address juror);
    error NotACommitment(bytes32 commitment);
    error VoteNotOver(uint64 revealEndsAt);
    error ZeroAddress();

    event JurorQualified(address indexed juror, uint64 eligibleAt);
    event JurorDisqualified(address indexed juror);
    event CaseOpened(uint256 indexed claimId, uint64 commitEndsAt, uint64 revealEndsAt);
    event VoteCommitted(uint256 indexed claimId, address indexed juror);
    event VoteRevealed(uint256 indexed claimId, address indexed juror, bool inFavour);
    event CaseExtended(uint256 indexed claimId, uint64 commitEndsAt, uint64 revealEndsAt);
    event CaseClosedWith(uint256 indexed claimId, Verdict verdict, uint32 inFavour, uint32 against);
    event Connected(address pool);

    constructor(Rules memory rules, address admin) {
        waitingPeriod = rules.waitingPeriod;
        jurorDelay = rules.jurorDelay;
        commitDuration = rules.commitDuration;
        revealDuration = rules.revealDuration;
        minVotes = rules.minVotes;
        minInFavourBps = rules.minInFavourBps;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function connect(ICostSharing pool_) external onlyRole(DEFAULT_ADMIN_ROLE) connectsOnce {
        if (address(pool_) == address(0)) revert ZeroAddress();
        pool = pool_;
        emit Connected(address(pool_));
    }

    function qualify(address[] calldata jurors) external onlyRole(JUROR_REGISTRAR_ROLE) {
        uint64 eligibleAt = uint64(block.timestamp) + jurorDelay;
        for (uint256 i; i < jurors.length; ++i) {
            qualifiedAt[jurors[i]] = uint64(block.timestamp);
            emit JurorQualified(jurors[i], eligibleAt);
        }
    }

    function disqualify(address juror) external onlyRole(JUROR_REGISTRAR_ROLE) {
        if (qualifiedAt[juror] == 0) revert NotAQualifiedJuror(juror);
        delete qualifiedAt[juror];
        emit JurorDisqualified(juror);
    }

    function open(uint256 claimId, address claimant) external onlyRole(SUITE_ROLE) {
        Case storage c = _cases[claimId];
        if (c.claimant != address(0)) revert CaseAlreadyOpen(claimId);
        c.claimant = claimant;
        _schedule(c);
        emit CaseOpened(claimId, c.commitEndsAt, c.revealEndsAt);
    }

    function revealed(uint256 claimId, address juror) external view returns (bool) {
        return commitments[claimId][juror] == REVEALED;
    }

    /// What a juror commits to; computed off chain in the same way (the client library does).
    function commitmentFor(uint256 claimId, address juror, bool inFavour, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(claimId, juror, inFavour, salt));
    }

    function commit(uint256 claimId, bytes32 commitment) external {
        Case storage c = _open(claimId);
        if (block.timestamp >= c.commitEndsAt) revert CommitWindowClosed(c.commitEndsAt);
        if (msg.sender == c.claimant) revert ClaimantCannotVote(claimId);
        uint64 since = qualifiedAt[msg.sender];
        if (since == 0) revert NotAQualifiedJuror(msg.sender);
        if (block.timestamp < since + jurorDelay) revert JurorNotYetEligible(since + jurorDelay);
        if (!_isActive(pool.memberOf(msg.sender))) revert JurorNotActiveMember(msg.sender);
        if (commitments[claimId][msg.sender] != bytes32(0)) revert AlreadyCommitted(claimId, msg.sender);
        if (commitment == bytes32(0) || commitment == REVEALED) revert NotACommitment(commitment);
        commitments[claimId][msg.sender] = commitment;
        emit VoteCommitted(claimId, msg.sender);
    }

    function reveal(uint256 claimId, bool inFavour, bytes32 salt) external {
        Case storage c = _open(claimId);
        if (block.timestamp < c.commitEndsAt || block.timestamp >= c.revealEndsAt) {
            revert NotInRevealWindow(c.commitEndsAt, c.revealEndsAt);
        }
        bytes32 committed = commitments[claimId][msg.sender];
        if (committed == bytes32(0)) revert NothingCommitted(claimId, msg.sender);
        if (committed == REVEALED) revert AlreadyRevealed(claimId, msg.sender);
        if (committed != commitmentFor(claimId, msg.sender, inFavour, salt)) {
            revert CommitmentMismatch(claimId, msg.sender);
        }
        commitments[claimId][msg.sender] = REVEALED;
        if (inFavour) ++c.inFavour;
        else ++c.against;
        emit VoteRevealed(claimId, msg.sender, inFavour);
    }

    /// Too few valid votes: one more round (fresh windows, revealed votes still count); too few
    /// after that: TooFewVotes, and the rejection stands.
    function close(uint256 claimId) external onlyRole(SUITE_ROLE) returns (Verdict verdict) {
        Case storage c = _open(claimId);
        if (block.timestamp < c.revealEndsAt) revert VoteNotOver(c.revealEndsAt);
        uint256 valid = uint256(c.inFavour) + c.against;
        if (valid >= minVotes && valid != 0) {
            verdict = uint256(c.inFavour) * 10_000 >= valid * minInFavourBps ? Verdict.InFavour : Verdict.Against;
        } else if (!c.extended) {
            c.extended = true;
            _schedule(c);
            emit CaseExtended(claimId, c.commitEndsAt, c.revealEndsAt);
            return Verdict.Extended;
        } else {
            verdict = Verdict.TooFewVotes;
        }
        c.closed = true;
        emit CaseClosedWith(claimId, verdict, c.inFavour, c.against);
    }

    function caseOf(uint256 claimId) external view returns (Case memory) {
        return _cases[claimId];
    }

    function eligibleAt(address juror) external view returns (uint64) {
        uint64 since = qualifiedAt[juror];
        return since == 0 ? 0 : since + jurorDelay;
    }

    /// Membership.isActive, on the record the pool keeps: in the plan, past the waiting period, covered.
    function _isActive(Member memory m) private view returns (bool) {
        return m.status == MemberStatus.InPlan && block.timestamp >= m.joinedAt + waitingPeriod
            && block.timestamp < m.coverEndsAt;
    }

    function _schedule(Case storage c) private {
        c.commitEndsAt = uint64(block.timestamp) + commitDuration;
        c.revealEndsAt = c.commitEndsAt + revealDuration;
    }

    function _open(uint256 claimId) private view returns (Case storage c) {
        c = _cases[claimId];
        if (c.claimant == address(0)) revert UnknownCase(claimId);
        if (c.closed) revert CaseClosed(claimId);
    }
}
