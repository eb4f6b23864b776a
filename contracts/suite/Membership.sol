// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ICostSharing, IMembership, Member, MemberStatus, Rules, Wired} from "./Rules.sol";

/// Who is in the plan. A person joins free with an enroller's EIP-712 attestation that binds their
/// address to a commitment of their identity (one person, one membership; never the ID in clear),
/// their coverage tier and when their cover ends: the end of the month in which they turn 60
/// (00:00 UTC on the 1st of the next month), never the birthday itself, so the chain every
/// organisation reads holds no member's date of birth. Joining can carry an auto-debit mandate, the
/// fen the pool may debit for the member's shares, kept in the pool's own record of the member: the
/// member's whole year then needs no further transaction. An enroller may instead put many people
/// on chain in one `enrollBatch`, each with the mandate they signed off chain: no member transaction.
contract Membership is IMembership, AccessControl, EIP712, Wired {
    bytes32 public constant ENROLLER_ROLE = keccak256("ENROLLER_ROLE");
    /// Held by the other contracts of the suite (claims, cost sharing).
    bytes32 public constant SUITE_ROLE = keccak256("SUITE_ROLE");
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(address member,bytes32 identity,uint8 tier,uint64 coverEndsAt,uint64 expiry)");
    /// What a member signs off chain to be enrolled with auto-debit: up to `limit` fen, by `deadline`.
    bytes32 public constant MANDATE_TYPEHASH = keccak256("Mandate(address member,uint256 limit,uint256 deadline)");

    /// tier 1: under 40 (coverUnder40); tier 2: 40 to 59 (cover40to59).
    struct Attestation {
        address member;
        bytes32 identity;
        uint8 tier;
        uint64 coverEndsAt;
        uint64 expiry;
    }

    /// One person of an `enrollBatch`: the enroller's own word (it sends the batch, so it needs no
    /// signature of its own) and the member's mandate, signed by the member (EIP-2098 r, vs);
    /// `mandate` 0 means none, and then no signature.
    struct Enrolment {
        address member;
        uint8 tier;
        uint64 coverEndsAt;
        bytes32 identity;
        uint256 mandate;
        uint256 deadline;
        bytes32 r;
        bytes32 vs;
    }

    /// What a member is now; Waiting and Active are both "in the plan".
    enum State {
        None,
        Waiting,
        Active,
        CoverExpired,
        Exited,
        Removed,
        PaidOut,
        EndedInWaitingPeriod,
        CoverEnded
    }

    uint64 public immutable waitingPeriod;
    uint64 public immutable coverUnder40;
    uint64 public immutable cover40to59;

    ICostSharing public pool;
    uint256 public memberCount;

    /// Each member's record (`Member`: joined, cover ends, tier, status) is kept by the pool, in the
    /// one storage slot it keeps per member anyway: a member costs one fresh slot there and the
    /// identity commitment here, not a third slot of their own.
    mapping(bytes32 => address) public identityHolder;

    error AttestationExpired(uint64 expiry);
    error NotSignedByEnroller(address signer);
    error AttestationForAnotherMember(address member, address sender);
    error IdentityAlreadyUsed(bytes32 identity);
    error UnknownTier(uint8 tier);
    error CoverAlreadyEnded(uint64 coverEndsAt);
    error CoverEndNotAtMonthEnd(uint64 coverEndsAt);
    error NotAMember(address account);
    error NotInPlan(address member, MemberStatus status);
    error CoverNotEnded(uint64 coverEndsAt);
    error MandateExpired(address member, uint256 deadline);
    error MandateNotSignedByMember(address member, address signer);
    error ZeroAddress();

    event MemberJoined(
        address indexed member,
        bytes32 indexed identity,
        uint8 tier,
        uint256 coverAmount,
        uint64 waitingEndsAt,
        uint64 coverEndsAt
    );
    event MembershipEnded(address indexed member, MemberStatus reason);
    event Connected(address pool);

    constructor(Rules memory rules, address admin) EIP712("Hubao Membership", "1") {
        waitingPeriod = rules.waitingPeriod;
        coverUnder40 = rules.coverUnder40;
        cover40to59 = rules.cover40to59;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function connect(ICostSharing pool_) external onlyRole(DEFAULT_ADMIN_ROLE) connectsOnce {
        if (address(pool_) == address(0)) revert ZeroAddress();
        pool = pool_;
        emit Connected(address(pool_));
    }

    // ---- joining ----

    /// The member's one transaction: join and let the pool auto-debit shares up to `mandate` fen
    /// (0: none, pay by hand; 2^32 - 1 or more: no limit). The member sends it, so it is their word.
    function join(Attestation calldata a, bytes calldata signature, uint256 mandate) external {
        if (a.member != msg.sender) revert AttestationForAnotherMember(a.member, msg.sender);
        if (block.timestamp > a.expiry) revert AttestationExpired(a.expiry);
        address signer = ECDSA.recover(attestationDigest(a), signature);
        if (!hasRole(ENROLLER_ROLE, signer)) revert NotSignedByEnroller(signer);
        _enroll(a.member, a.identity, a.tier, a.coverEndsAt, mandate);
    }

    /// Onboarding at scale: many people in one transaction of an enroller. The sender holds
    /// ENROLLER_ROLE, so its attestation is the transaction itself (a signature would only repeat
    /// it); each mandate is the member's own signature, checked here.
    function enrollBatch(Enrolment[] calldata es) external onlyRole(ENROLLER_ROLE) {
        for (uint256 i; i < es.length; ++i) {
            Enrolment calldata e = es[i];
            if (e.mandate != 0) _checkMandate(e);
            _enroll(e.member, e.identity, e.tier, e.coverEndsAt, e.mandate);
        }
    }

    function mandateDigest(address member, uint256 limit, uint256 deadline) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(MANDATE_TYPEHASH, member, limit, deadline)));
    }

    function attestationDigest(Attestation calldata a) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(ATTESTATION_TYPEHASH, a.member, a.identity, a.tier, a.coverEndsAt, a.expiry))
        );
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---- leaving ----

    /// Cover ends now; the member still shares in the cases settled at the current period's close.
    function exit() external {
        _end(msg.sender, pool.memberOf(msg.sender), MemberStatus.Exited);
    }

    /// Anyone may end the cover of a member who turned 60 (lazy: nothing loops over members).
    function endCover(address member) external {
        Member memory m = pool.memberOf(member);
        if (block.timestamp < m.coverEndsAt) revert CoverNotEnded(m.coverEndsAt);
        _end(member, m, MemberStatus.CoverEnded);
    }

    /// Called by the claims contract: payout or illness inside the waiting period.
    function endMembership(address member, MemberStatus reason) external onlyRole(SUITE_ROLE) {
        _end(member, pool.memberOf(member), reason);
    }

    /// Called by cost sharing when it has removed a defaulter who was in the plan (it recorded the
    /// status in the member's record): the event of the membership's end is Membership's.
    function markRemoved(address member) external onlyRole(SUITE_ROLE) {
        emit MembershipEnded(member, MemberStatus.Removed);
    }

    // ---- views ----

    function memberOf(address member) public view returns (Member memory) {
        return pool.memberOf(member);
    }

    function stateOf(address member) public view returns (State) {
        Member memory m = pool.memberOf(member);
        if (m.status == MemberStatus.InPlan) {
            if (block.timestamp >= m.coverEndsAt) return State.CoverExpired;
            if (block.timestamp < m.joinedAt + waitingPeriod) return State.Waiting;
            return State.Active;
        }
        if (m.status == MemberStatus.None) return State.None;
        return State(uint8(m.status) + 2);
    }

    function isInPlan(address member) external view returns (bool) {
        return pool.memberOf(member).status == MemberStatus.InPlan;
    }

    function isActive(address member) external view returns (bool) {
        return stateOf(member) == State.Active;
    }

    function waitingEndsAt(address member) external view returns (uint64) {
        Member memory m = pool.memberOf(member);
        if (m.status == MemberStatus.None) revert NotAMember(member);
        return m.joinedAt + waitingPeriod;
    }

    function coverEndsAt(address member) external view returns (uint64) {
        return pool.memberOf(member).coverEndsAt;
    }

    function coverAmountOf(address member) public view returns (uint256) {
        uint8 tier = pool.memberOf(member).tier;
        if (tier == 1) return coverUnder40;
        if (tier == 2) return cover40to59;
        return 0;
    }

    // ---- internals ----

    function _checkMandate(Enrolment calldata e) private view {
        if (block.timestamp > e.deadline) revert MandateExpired(e.member, e.deadline);
        address signer = ECDSA.recover(mandateDigest(e.member, e.mandate, e.deadline), e.r, e.vs);
        if (signer != e.member) revert MandateNotSignedByMember(e.member, signer);
    }

    function _enroll(address member, bytes32 identity, uint8 tier, uint64 coverEnds, uint256 mandate) private {
        if (tier != 1 && tier != 2) revert UnknownTier(tier);
        if (block.timestamp >= coverEnds) revert CoverAlreadyEnded(coverEnds);
        if (!_isMonthStart(coverEnds)) revert CoverEndNotAtMonthEnd(coverEnds);
        pool.enter(member, tier, coverEnds, mandate); // refuses a second membership (AlreadyAMember)
        if (identityHolder[identity] != address(0)) revert IdentityAlreadyUsed(identity);
        identityHolder[identity] = member;
        unchecked {
            ++memberCount;
        }
        emit MemberJoined(
            member, identity, tier, tier == 1 ? coverUnder40 : cover40to59, uint64(block.timestamp) + waitingPeriod, coverEnds
        );
    }

    /// 00:00 UTC on the 1st of a month (days since 1970 to a civil date, Hinnant's algorithm).
    function _isMonthStart(uint64 t) private pure returns (bool) {
        if (t % 1 days != 0) return false;
        uint256 z = t / 1 days + 719468;
        uint256 doe = z % 146097;
        uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        return doy == (153 * mp + 2) / 5;
    }

    /// Exiting members still share the current period's cases; every other end stops sharing now.
    function _end(address member, Member memory m, MemberStatus reason) private {
        if (m.status == MemberStatus.None) revert NotAMember(member);
        if (m.status != MemberStatus.InPlan) revert NotInPlan(member, m.status);
        pool.end(member, reason, reason == MemberStatus.Exited);
        emit MembershipEnded(member, reason);
    }
}
