// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// Every number of the plan, fixed at deployment. Durations in seconds, money in fen.
/// Defaults (domain.md): waiting 90 days, cover 30,000,000 / 10,000,000 fen, period 15 days,
/// grace 5 days, fee 800 bps, case cap 10 fen, year cap 18,800 fen, juror delay 30 days,
/// min votes 1,000 at >= 50% in favour.
struct Rules {
    uint64 waitingPeriod;
    uint64 coverUnder40;
    uint64 cover40to59;
    uint64 periodLength;
    uint64 gracePeriod;
    uint16 feeBps;
    uint64 caseCap;
    uint64 yearCap;
    uint64 yearLength;
    uint64 noticePeriod;
    uint64 disputeWindow;
    uint64 jurorDelay;
    uint64 commitDuration;
    uint64 revealDuration;
    uint32 minVotes;
    uint16 minInFavourBps;
}

/// Why a membership ended (or that it has not).
enum MemberStatus {
    None,
    InPlan,
    Exited,
    Removed,
    PaidOut,
    EndedInWaitingPeriod,
    CoverEnded
}

/// A member's membership record (kept in the pool's one slot per member, read through Membership).
struct Member {
    uint64 joinedAt;
    uint64 coverEndsAt;
    uint8 tier;
    MemberStatus status;
}

interface IMembership {
    function isInPlan(address member) external view returns (bool);
    function isActive(address member) external view returns (bool);
    function coverAmountOf(address member) external view returns (uint256);
    function waitingEndsAt(address member) external view returns (uint64);
    function coverEndsAt(address member) external view returns (uint64);
    function endMembership(address member, MemberStatus reason) external;
    function markRemoved(address member) external;
}

interface ICostSharing {
    function enter(address member, uint8 tier, uint64 coverEndsAt, uint256 mandate) external;
    function memberOf(address member) external view returns (Member memory);
    function end(address member, MemberStatus reason, bool atClose) external;
    function queuePayout(uint256 claimId, address claimant, uint256 amount) external;
    function isDefaulter(address member) external view returns (bool);
}

/// The settlement token as the pool draws on it (SettlementToken.collectFrom, COLLECTOR_ROLE).
interface ICollectable {
    function collectFrom(address from, uint256 amount) external returns (bool);
}

/// Outcome of closing a jury vote.
enum Verdict {
    None,
    InFavour,
    Against,
    Extended,
    TooFewVotes
}

interface IJury {
    function open(uint256 claimId, address claimant) external;
    function close(uint256 claimId) external returns (Verdict);
}

/// One-time wiring by the deployer, before admin passes to the governor.
abstract contract Wired {
    error AlreadyConnected();

    bool private _connected;

    modifier connectsOnce() {
        if (_connected) revert AlreadyConnected();
        _connected = true;
        _;
    }
}
