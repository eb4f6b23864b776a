// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ICostSharing, IJury, IMembership, Member, MemberStatus, Rules, Verdict, Wired} from "./Rules.sol";

/// A claim's life:  UnderReview --approve--> InNotice --notice over--> Accepted (payout queued)
///                      |   ^                   | objection
///                      |   +-------------------+
///                      +--reject--> Rejected --dispute--> Disputed --jury--> Accepted | Denied
/// An illness claimed inside the waiting period is recorded as RefusedInWaitingPeriod and ends
/// the membership (a revert would undo both, so this refusal does not revert).
contract Claims is AccessControl, Wired {
    bytes32 public constant INVESTIGATOR_ROLE = keccak256("INVESTIGATOR_ROLE");
    uint8 public constant ILLNESS_CODES = 100;

    enum Status {
        None,
        UnderReview,
        InNotice,
        Rejected,
        Disputed,
        Accepted,
        Denied,
        RefusedInWaitingPeriod,
        Lapsed
    }

    struct Claim {
        address claimant;
        uint8 illness;
        bool accident;
        Status status;
        uint64 submittedAt;
        uint64 deadline; // end of notice, or of the dispute window after a rejection
        uint96 amount;
        bytes32 evidenceRoot;
        bytes32 reportHash;
    }

    uint64 public immutable noticePeriod;
    uint64 public immutable disputeWindow;
    uint64 public immutable waitingPeriod;
    uint64 public immutable coverUnder40;
    uint64 public immutable cover40to59;

    IMembership public membership;
    ICostSharing public pool;
    IJury public jury;

    Claim[] private _claims;
    mapping(address => uint256) public openClaimOf; // claim id + 1
    /// One objection per member per claim (see `object`).
    mapping(uint256 => mapping(address => bool)) public hasObjected;

    error IllnessNotCovered(uint8 code);
    error NotInPlan(address account);
    error CoverExpired(uint64 coverEndsAt);
    error SharesOverdue(address member);
    error ClaimAlreadyOpen(address claimant, uint256 claimId);
    error UnknownClaim(uint256 claimId);
    error WrongStatus(uint256 claimId, Status status);
    error NoticeNotOver(uint64 endsAt);
    error NoticeOver(uint64 endedAt);
    error NotTheClaimant(address caller);
    error DisputeWindowClosed(uint64 closedAt);
    error ClaimantCannotObject(uint256 claimId);
    error NotAnActiveMember(address account);
    error AlreadyObjected(uint256 claimId, address member);
    error StillInWaitingPeriod(uint64 endsAt);
    error ZeroAddress();

    event ClaimSubmitted(
        uint256 indexed claimId, address indexed claimant, uint8 illness, bool accident, bytes32 evidenceRoot, uint256 amount
    );
    event ClaimRefusedInWaitingPeriod(uint256 indexed claimId, address indexed claimant, uint64 waitingEndsAt);
    event ClaimApproved(uint256 indexed claimId, bytes32 reportHash, uint64 noticeEndsAt);
    event ClaimRejected(uint256 indexed claimId, bytes32 reportHash, uint64 disputeUntil);
    event ClaimObjected(uint256 indexed claimId, address indexed objector, bytes32 evidenceHash);
    event ClaimDisputed(uint256 indexed claimId);
    event DisputeExtended(uint256 indexed claimId);
    event ClaimAccepted(uint256 indexed claimId, address indexed claimant, uint256 amount);
    event ClaimDenied(uint256 indexed claimId, Verdict verdict);
    event ClaimLapsed(uint256 indexed claimId, address indexed claimant);
    event Connected(address membership, address pool, address jury);

    constructor(Rules memory rules, address admin) {
        noticePeriod = rules.noticePeriod;
        disputeWindow = rules.disputeWindow;
        waitingPeriod = rules.waitingPeriod;
        coverUnder40 = rules.coverUnder40;
        cover40to59 = rules.cover40to59;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function connect(IMembership membership_, ICostSharing pool_, IJury jury_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        connectsOnce
    {
        if (address(membership_) == address(0) || address(pool_) == address(0) || address(jury_) == address(0)) {
            revert ZeroAddress();
        }
        membership = membership_;
        pool = pool_;
        jury = jury_;
        emit Connected(address(membership_), address(pool_), address(jury_));
    }

    /// `evidenceRoot` is the Merkle root of the evidence files; the files stay off chain.
    function submit(uint8 illness, bool accident, bytes32 evidenceRoot) external returns (uint256 id) {
        if (illness == 0 || illness > ILLNESS_CODES) revert IllnessNotCovered(illness);
        address member = msg.sender;
        // the member's record, read once from the pool, which keeps it for Membership
        Member memory m = pool.memberOf(member);
        if (m.status != MemberStatus.InPlan) revert NotInPlan(member);
        if (block.timestamp >= m.coverEndsAt) revert CoverExpired(m.coverEndsAt);
        uint256 open = openClaimOf[member];
        if (open != 0 && _isOpen(open - 1)) revert ClaimAlreadyOpen(member, open - 1);
        if (pool.isDefaulter(member)) revert SharesOverdue(member);

        id = _claims.length;
        uint64 waitingEnds = m.joinedAt + waitingPeriod;
        bool refused = !accident && block.timestamp < waitingEnds;
        _claims.push(
            Claim(
                member,
                illness,
                accident,
                refused ? Status.RefusedInWaitingPeriod : Status.UnderReview,
                uint64(block.timestamp),
                0,
                m.tier == 1 ? coverUnder40 : cover40to59,
                evidenceRoot,
                bytes32(0)
            )
        );
        emit ClaimSubmitted(id, member, illness, accident, evidenceRoot, _claims[id].amount);
        if (refused) {
            emit ClaimRefusedInWaitingPeriod(id, member, waitingEnds);
            membership.endMembership(member, MemberStatus.EndedInWaitingPeriod);
        } else {
            openClaimOf[member] = id + 1;
        }
    }

    function approve(uint256 id, bytes32 reportHash) external onlyRole(INVESTIGATOR_ROLE) {
        Claim storage c = _expect(id, Status.UnderReview);
        c.status = Status.InNotice;
        c.reportHash = reportHash;
        c.deadline = uint64(block.timestamp) + noticePeriod;
        emit ClaimApproved(id, reportHash, c.deadline);
    }

    function reject(uint256 id, bytes32 reportHash) external onlyRole(INVESTIGATOR_ROLE) {
        Claim storage c = _expect(id, Status.UnderReview);
        c.status = Status.Rejected;
        c.reportHash = reportHash;
        c.deadline = uint64(block.timestamp) + disputeWindow;
        emit ClaimRejected(id, reportHash, c.deadline);
    }

    /// Any active member but the claimant may object during the notice; the case goes back to review
    /// and, once approved again, starts a new notice. Each member objects at most once per claim, so
    /// no one member can hold a payout back for ever: a claim is delayed at most once per member who
    /// objects, each objection carrying evidence the investigators read. A bond was the other way;
    /// it was not chosen because it would make objecting cost money that two thirds of members
    /// (earning under RMB 100,000 a year) are least able to put up, while one person holds one
    /// membership (the enroller's identity commitments), so one objection per member already costs
    /// a would-be delayer a real person per notice.
    function object(uint256 id, bytes32 evidenceHash) external {
        Claim storage c = _expect(id, Status.InNotice);
        if (block.timestamp >= c.deadline) revert NoticeOver(c.deadline);
        if (msg.sender == c.claimant) revert ClaimantCannotObject(id);
        if (hasObjected[id][msg.sender]) revert AlreadyObjected(id, msg.sender);
        if (!membership.isActive(msg.sender)) {
            if (membership.isInPlan(msg.sender)) revert StillInWaitingPeriod(membership.waitingEndsAt(msg.sender));
            revert NotAnActiveMember(msg.sender);
        }
        hasObjected[id][msg.sender] = true;
        c.status = Status.UnderReview;
        emit ClaimObjected(id, msg.sender, evidenceHash);
    }

    /// Anyone may finalize a claim whose notice passed without objection.
    function finalize(uint256 id) external {
        Claim storage c = _expect(id, Status.InNotice);
        if (block.timestamp < c.deadline) revert NoticeNotOver(c.deadline);
        _accept(id, c);
    }

    function dispute(uint256 id) external {
        Claim storage c = _expect(id, Status.Rejected);
        if (msg.sender != c.claimant) revert NotTheClaimant(msg.sender);
        if (block.timestamp >= c.deadline) revert DisputeWindowClosed(c.deadline);
        c.status = Status.Disputed;
        jury.open(id, c.claimant);
        emit ClaimDisputed(id);
    }

    /// Anyone may close a jury vote once it is over. Too few valid votes: the vote runs once more;
    /// still too few after that: the investigator's rejection stands.
    function resolveDispute(uint256 id) external {
        Claim storage c = _expect(id, Status.Disputed);
        Verdict verdict = jury.close(id);
        if (verdict == Verdict.Extended) {
            emit DisputeExtended(id);
        } else if (verdict == Verdict.InFavour) {
            _accept(id, c);
        } else {
            c.status = Status.Denied;
            delete openClaimOf[c.claimant];
            emit ClaimDenied(id, verdict);
        }
    }

    // ---- views ----

    function claimCount() external view returns (uint256) {
        return _claims.length;
    }

    function claim(uint256 id) external view returns (Claim memory) {
        if (id >= _claims.length) revert UnknownClaim(id);
        return _claims[id];
    }

    function claimantOf(uint256 id) external view returns (address) {
        if (id >= _claims.length) revert UnknownClaim(id);
        return _claims[id].claimant;
    }

    // ---- internals ----

    function _accept(uint256 id, Claim storage c) private {
        delete openClaimOf[c.claimant];
        if (pool.memberOf(c.claimant).status != MemberStatus.InPlan) {
            c.status = Status.Lapsed;
            emit ClaimLapsed(id, c.claimant);
            return;
        }
        c.status = Status.Accepted;
        membership.endMembership(c.claimant, MemberStatus.PaidOut);
        pool.queuePayout(id, c.claimant, c.amount);
        emit ClaimAccepted(id, c.claimant, c.amount);
    }

    function _isOpen(uint256 id) private view returns (bool) {
        Status s = _claims[id].status;
        if (s == Status.Rejected) return block.timestamp < _claims[id].deadline;
        return s == Status.UnderReview || s == Status.InNotice || s == Status.Disputed;
    }

    function _expect(uint256 id, Status status) private view returns (Claim storage c) {
        if (id >= _claims.length) revert UnknownClaim(id);
        c = _claims[id];
        if (c.status != status) revert WrongStatus(id, c.status);
    }
}
