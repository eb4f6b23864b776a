// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICollectable, ICostSharing, IMembership, Member, MemberStatus, Rules, Wired} from "./Rules.sol";

/// The pool. Costs are shared through one cumulative per-member index (Batog, Boca and Johnson
/// 2018): closing a period adds that period's share to `index`; a member owes what the index rose
/// while they were sharing, minus what they paid. No function loops over members, so gas does not
/// depend on how many there are.
///
/// At a period's close:  need  = payouts + fees + shortfall carried - surplus carried
///                       share = min(ceil(need / sharing), caseCap * cases, yearCap - charged this year)
/// levied beyond need (rounding) is surplus carried; levied short of need (caps) and shares written
/// off for defaulters are shortfall carried. A claimant stops sharing when their claim is accepted,
/// before the index step of the period that settles it, so never pays towards their own case.
///
/// A member may pay ahead: `paidUpTo` above the index is credit, which later closes use up with no
/// transaction at all. The operator's auto-debit tops members up several periods ahead, so a member
/// needs one debit every few periods rather than one per period; unused credit is refunded when
/// the member stops sharing. Auto-debit draws under the member's mandate, the fen they let the pool
/// take, kept in the same storage slot as the rest of their account (not in ERC-20 allowances), and
/// a member's own `pay` or `prepay` is their word for that payment. Payouts never exceed the shares levied and not written off; while a
/// levied share is within its grace period its payout may be advanced from the pool's float.
contract CostSharing is ICostSharing, AccessControl, Wired {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant SUITE_ROLE = keccak256("SUITE_ROLE");

    uint8 private constant NOT_SHARING = 0;
    uint8 private constant SHARING = 1;
    uint8 private constant LEAVING_AT_CLOSE = 2; // stops at the close of `stopPeriod`
    uint8 private constant STOPPED = 3; // stopped at index value `stop`
    /// A mandate this large has no limit: debits do not use it up. Kept as the largest uint32
    /// (RMB 42,949,672.95, more than two hundred thousand years of the year cap) in the record.
    uint88 public constant UNLIMITED = type(uint88).max;
    uint32 private constant NO_LIMIT = type(uint32).max;

    /// One storage slot per member, the only one a member adds here: their sharing account (what
    /// they paid, where they stopped, their mandate) and, for Membership, their membership record
    /// (when they joined, when cover ends, tier, status). Enrolment writes one fresh slot, not two
    /// in two contracts, and ending a membership rewrites that one slot.
    struct Account {
        uint48 paidUpTo;
        uint48 stop;
        uint24 stopPeriod;
        uint8 mode;
        uint32 mandate; // fen auto-debit may still take; NO_LIMIT: no limit
        uint40 joinedAt;
        uint40 coverEndsAt;
        uint8 tier;
        MemberStatus status;
    }

    /// Hot state in one slot, so every close and every join touches the same words.
    struct Book {
        uint96 index;
        uint64 sharing;
        uint32 closedCount;
        uint32 pendingCases;
        uint32 carriedCases;
    }

    struct Carry {
        uint96 surplus;
        uint96 shortfall;
        uint64 payoutsDue; // queue entries that became due (closed periods)
    }

    struct Pending {
        uint128 payouts;
        uint128 fees;
    }

    struct Period {
        uint96 indexAfter;
        uint64 closedAt;
        uint64 dueAt;
        uint32 sharing;
    }

    /// A queued payout in one storage slot. Its fee is `amount * feeBps / 10_000`, and payouts are
    /// paid in order, so only the one at the head can be part-paid: what was paid of it is kept
    /// once, in `Head`, not per payout.
    struct Queued {
        address claimant;
        uint32 claimId;
        uint64 amount; // fen, as the plan's cover amounts (Rules: uint64)
    }

    struct Head {
        uint64 index; // the first payout not paid in full
        uint96 paid;
        uint96 feePaid;
    }

    /// A payout as `payout(i)` shows it.
    struct Payout {
        uint256 claimId;
        address claimant;
        uint96 amount;
        uint96 paid;
        uint96 fee;
        uint96 feePaid;
    }

    struct Totals {
        uint128 paidIn;
        uint128 paidOut;
        uint128 feesPaid;
        uint128 writtenOff;
        uint128 refunded;
        uint128 levied; // share * sharing, summed over closes
    }

    IERC20 public immutable token;
    uint64 public immutable start;
    uint64 public immutable periodLength;
    uint64 public immutable gracePeriod;
    uint16 public immutable feeBps;
    uint64 public immutable caseCap;
    uint64 public immutable yearCap;
    uint64 public immutable yearLength;

    IMembership public membership;
    address public treasury;

    Book public book;
    Carry public carry;
    Pending private pending;
    Totals public totals;
    Head private _head;

    mapping(address => Account) private _accounts;
    mapping(uint256 => Period) private _periods;
    mapping(uint256 => uint256) private leavingAt;
    mapping(uint256 => uint256) public yearCharged;
    Queued[] private _payouts;

    error PeriodNotOver(uint32 period, uint64 endsAt);
    error NotADefaulter(address member);
    error NothingOwed(address member);
    error StillSharing(address member);
    error NoCredit(address member);
    error ZeroAmount();
    error AheadOverYearCap(uint256 ahead, uint256 yearCap);
    error NotSharing(address member);
    error AlreadyAMember(address member);
    error ZeroAddress();

    event PeriodClosed(
        uint32 indexed period,
        uint256 share,
        uint256 sharing,
        uint256 cases,
        uint256 payouts,
        uint256 fees,
        uint256 surplus,
        uint256 shortfall,
        uint64 dueAt
    );
    event SharingStarted(address indexed member, uint96 index, uint256 mandate);
    event MandateSet(address indexed member, uint256 mandate);
    event SharingStopped(address indexed member, uint32 period, bool atClose);
    event SharePaid(address indexed member, uint256 amount, uint96 paidUpTo);
    event CreditRefunded(address indexed member, uint256 amount);
    event DebitFailed(address indexed member, uint256 amount);
    event DefaulterRemoved(address indexed member, uint256 writtenOff);
    event PayoutQueued(uint256 indexed claimId, address indexed claimant, uint256 amount, uint256 fee);
    event ClaimantPaid(uint256 indexed claimId, address indexed claimant, uint256 amount, uint256 stillOwed);
    event FeePaid(uint256 indexed claimId, address indexed treasury, uint256 amount);
    event TreasuryChanged(address treasury);
    event Connected(address membership);

    constructor(Rules memory rules, IERC20 token_, address treasury_, uint64 start_, address admin) {
        if (address(token_) == address(0) || treasury_ == address(0)) revert ZeroAddress();
        token = token_;
        treasury = treasury_;
        start = start_;
        periodLength = rules.periodLength;
        gracePeriod = rules.gracePeriod;
        feeBps = rules.feeBps;
        caseCap = rules.caseCap;
        yearCap = rules.yearCap;
        yearLength = rules.yearLength;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    function connect(IMembership membership_) external onlyRole(DEFAULT_ADMIN_ROLE) connectsOnce {
        if (address(membership_) == address(0)) revert ZeroAddress();
        membership = membership_;
        emit Connected(address(membership_));
    }

    /// Only through a consortium vote: the governor is the only admin.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasuryChanged(treasury_);
    }

    // ---- who shares (called by Membership and Claims) ----

    /// A new member: their membership record and their sharing start in one slot. Membership has
    /// checked the rules of joining and vouches for the mandate (the member sent the join, or
    /// signed it for the enroller); one membership per address ever is checked here.
    function enter(address member, uint8 tier, uint64 coverEndsAt, uint256 mandate) external onlyRole(SUITE_ROLE) {
        if (_accounts[member].status != MemberStatus.None) revert AlreadyAMember(member);
        uint96 index = book.index;
        uint32 m = _mandate(mandate);
        _accounts[member] = Account(
            uint256(index).toUint48(), 0, 0, SHARING, m, uint40(block.timestamp), uint40(coverEndsAt), tier, MemberStatus.InPlan
        );
        ++book.sharing;
        emit SharingStarted(member, index, _unpacked(m));
    }

    /// The member's own change of their auto-debit mandate (0 stops auto-debit).
    function setMandate(uint256 mandate) external {
        uint32 m = _mandate(mandate);
        _accounts[msg.sender].mandate = m;
        emit MandateSet(msg.sender, _unpacked(m));
    }

    function mandateOf(address member) external view returns (uint256) {
        return _unpacked(_accounts[member].mandate);
    }

    /// Membership's record of a member (Membership reads it here: it is kept in the same slot as
    /// the member's account).
    function memberOf(address member) external view returns (Member memory) {
        Account memory a = _accounts[member];
        return Member(a.joinedAt, a.coverEndsAt, a.tier, a.status);
    }

    /// A membership ends (Membership has checked that it was in the plan): the member stops
    /// sharing now, or `atClose`, at the close of the current period (they still share its cases).
    function end(address member, MemberStatus reason, bool atClose) external onlyRole(SUITE_ROLE) {
        Account storage a = _accounts[member];
        a.status = reason;
        if (!atClose) {
            _stop(member);
            emit SharingStopped(member, book.closedCount, false);
            return;
        }
        if (a.mode != SHARING) revert NotSharing(member);
        uint32 period = book.closedCount;
        a.mode = LEAVING_AT_CLOSE;
        a.stopPeriod = uint256(period).toUint24();
        ++leavingAt[period];
        emit SharingStopped(member, period, true);
    }

    function queuePayout(uint256 claimId, address claimant, uint256 amount) external onlyRole(SUITE_ROLE) {
        uint256 fee = _fee(amount);
        _payouts.push(Queued(claimant, claimId.toUint32(), amount.toUint64()));
        pending.payouts += uint128(amount);
        pending.fees += uint128(fee);
        ++book.pendingCases;
        emit PayoutQueued(claimId, claimant, amount, fee);
    }

    // ---- settlement ----

    function periodEnd(uint256 period) public view returns (uint64) {
        return start + uint64(period + 1) * periodLength;
    }

    /// The period whose cases the next close settles (closes happen in order).
    function openPeriod() external view returns (uint32) {
        return book.closedCount;
    }

    function closePeriod() external {
        Book memory b = book;
        uint32 p = b.closedCount;
        uint64 ends = periodEnd(p);
        if (block.timestamp < ends) revert PeriodNotOver(p, ends);
        Carry memory c = carry;
        Pending memory pend = pending;

        uint256 need = uint256(pend.payouts) + pend.fees + c.shortfall;
        uint256 surplus = c.surplus;
        if (surplus >= need) {
            surplus -= need;
            need = 0;
        } else {
            need -= surplus;
            surplus = 0;
        }
        uint256 cases = uint256(b.pendingCases) + b.carriedCases;
        uint256 share;
        if (need != 0 && b.sharing != 0) {
            share = (need + b.sharing - 1) / b.sharing;
            uint256 year = (ends - periodLength - start) / yearLength;
            uint256 yearLeft = yearCap - yearCharged[year];
            // a period that only carries a shortfall (defaults) counts as one case for the cap
            uint256 cap = caseCap * (cases == 0 ? 1 : cases);
            if (cap > yearLeft) cap = yearLeft;
            if (share > cap) share = cap;
            yearCharged[year] += share;
        }
        uint256 levied = share * b.sharing;
        uint256 shortfall;
        if (levied >= need) {
            surplus += levied - need;
            b.carriedCases = 0;
        } else {
            shortfall = need - levied;
            b.carriedCases = uint32(cases);
        }
        b.index += uint96(share);
        totals.levied += uint128(levied);
        _periods[p] = Period(b.index, uint64(block.timestamp), uint64(block.timestamp) + gracePeriod, uint32(b.sharing));
        emit PeriodClosed(
            p, share, b.sharing, cases, pend.payouts, pend.fees, surplus, shortfall, uint64(block.timestamp) + gracePeriod
        );
        b.sharing -= uint64(leavingAt[p]);
        b.closedCount = p + 1;
        b.pendingCases = 0;
        book = b;
        carry = Carry(uint96(surplus), uint96(shortfall), uint64(_payouts.length));
        delete pending;
    }

    // ---- paying shares ----

    function owed(address member) public view returns (uint256) {
        Account memory a = _accounts[member];
        uint256 stop = _stopIndex(a);
        return stop > a.paidUpTo ? stop - a.paidUpTo : 0;
    }

    /// Paid ahead and not yet used by a close.
    function credit(address member) public view returns (uint256) {
        Account memory a = _accounts[member];
        uint256 stop = _stopIndex(a);
        return a.paidUpTo > stop ? a.paidUpTo - stop : 0;
    }

    /// What each member owes now, in one call: the operator's list of whom to debit after a close.
    function owedBy(address[] calldata members) external view returns (uint256[] memory amounts) {
        amounts = new uint256[](members.length);
        for (uint256 i; i < members.length; ++i) {
            amounts[i] = owed(members[i]);
        }
    }

    /// Pays everything the member owes from their balance (needs an allowance to the pool).
    function pay() external {
        uint256 amount = owed(msg.sender);
        if (amount == 0) revert NothingOwed(msg.sender);
        _draw(msg.sender, amount);
    }

    /// Pays what the member owes and `amount` ahead, as credit for the coming closes.
    function prepay(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (_accounts[msg.sender].mode != SHARING) revert NotSharing(msg.sender);
        _draw(msg.sender, amount + owed(msg.sender));
    }

    /// Auto-debit, like XHB's: pulls each member's dues under their mandate, and tops members still
    /// sharing up to `ahead` fen of credit. A member whose balance or mandate cannot cover the top-up
    /// is debited just their dues; a failed debit is reported and skipped, never fatal to the batch
    /// (a debit short of gas reverts the whole batch: nothing is caught). `ahead` is
    /// at most the year cap: a year's closes draw no more than that, so credit beyond it would sit in
    /// the pool for over a year, money the member was never asked to lend.
    function collect(address[] calldata members, uint256 ahead) external onlyRole(OPERATOR_ROLE) {
        if (ahead > yearCap) revert AheadOverYearCap(ahead, yearCap);
        uint256 paidIn; // the pool's takings, added to its totals once
        for (uint256 i; i < members.length; ++i) {
            address member = members[i];
            Account memory a = _accounts[member];
            uint256 due = _stopIndex(a);
            if (due <= a.paidUpTo) continue; // nothing owed: credit left, or not a member
            uint256 amount = due - a.paidUpTo;
            if (a.mode == SHARING && ahead != 0 && _debit(member, a, amount + ahead)) {
                paidIn += amount + ahead;
            } else if (_debit(member, a, amount)) {
                paidIn += amount;
            } else {
                emit DebitFailed(member, amount);
            }
        }
        totals.paidIn += paidIn.toUint128();
    }

    /// Anyone may return a member's unused credit to them once they no longer share.
    function refund(address member) external {
        Account storage a = _accounts[member];
        if (a.mode == SHARING || (a.mode == LEAVING_AT_CLOSE && a.stopPeriod >= book.closedCount)) {
            revert StillSharing(member);
        }
        uint256 stop = _stopIndex(a);
        if (a.paidUpTo <= stop) revert NoCredit(member);
        uint256 amount = a.paidUpTo - stop;
        a.paidUpTo = uint48(stop); // below paidUpTo, so it fits
        totals.refunded += uint128(amount);
        emit CreditRefunded(member, amount);
        token.safeTransfer(member, amount);
    }

    // ---- defaulters ----

    /// True when a share whose grace has passed is still unpaid.
    function isDefaulter(address member) public view returns (bool) {
        Account memory a = _accounts[member];
        if (a.mode == NOT_SHARING) return false;
        uint256 p = book.closedCount;
        while (p != 0) {
            Period memory period = _periods[p - 1];
            if (period.dueAt <= block.timestamp) {
                uint256 dueIndex = period.indexAfter;
                uint256 stopIndex = _stopIndex(a);
                if (stopIndex < dueIndex) dueIndex = stopIndex;
                return a.paidUpTo < dueIndex;
            }
            --p;
        }
        return false;
    }

    /// Anyone may remove a defaulter: they stop sharing and their unpaid shares become shortfall.
    function removeDefaulter(address member) public {
        if (!isDefaulter(member)) revert NotADefaulter(member);
        uint256 unpaid = owed(member);
        if (_accounts[member].mode != STOPPED) _stop(member);
        Account storage a = _accounts[member];
        a.stop = a.paidUpTo;
        carry.shortfall += uint96(unpaid);
        totals.writtenOff += uint128(unpaid);
        if (a.status == MemberStatus.InPlan) {
            a.status = MemberStatus.Removed;
            membership.markRemoved(member); // its MembershipEnded event
        }
        emit DefaulterRemoved(member, unpaid);
    }

    /// Operator batch; members who are not (or no longer) defaulters are skipped.
    function removeDefaulters(address[] calldata members) external {
        for (uint256 i; i < members.length; ++i) {
            if (isDefaulter(members[i])) removeDefaulter(members[i]);
        }
    }

    // ---- payouts ----

    /// Pays due claims in order, up to the shares levied and not written off: the claimant first,
    /// then the fee. A claimant not paid in full stays at the head of the queue
    /// and is paid first next time.
    function disburse(uint256 maxPayouts) external {
        Totals memory t = totals;
        uint256 available = _spendable(t);
        Head memory h = _head;
        uint256 due = carry.payoutsDue;
        for (uint256 n; n < maxPayouts && h.index < due && available != 0; ++n) {
            Queued memory q = _payouts[h.index];
            uint256 fee = _fee(q.amount);
            uint256 toClaimant = q.amount - h.paid;
            if (toClaimant > available) toClaimant = available;
            if (toClaimant != 0) {
                h.paid += uint96(toClaimant);
                available -= toClaimant;
                t.paidOut += uint128(toClaimant);
                token.safeTransfer(q.claimant, toClaimant);
                emit ClaimantPaid(q.claimId, q.claimant, toClaimant, q.amount - h.paid);
            }
            uint256 toFee = h.paid == q.amount ? fee - h.feePaid : 0;
            if (toFee > available) toFee = available;
            if (toFee != 0) {
                h.feePaid += uint96(toFee);
                available -= toFee;
                t.feesPaid += uint128(toFee);
                token.safeTransfer(treasury, toFee);
                emit FeePaid(q.claimId, treasury, toFee);
            }
            if (h.paid == q.amount && h.feePaid == fee) h = Head(h.index + 1, 0, 0);
        }
        _head = h;
        totals = t;
    }

    // ---- views ----

    /// The member's whole record (`mandateOf` reads the mandate as fen, UNLIMITED for no limit).
    function accountOf(address member) external view returns (Account memory) {
        return _accounts[member];
    }

    function period(uint256 p) external view returns (Period memory) {
        return _periods[p];
    }

    function payoutCount() external view returns (uint256) {
        return _payouts.length;
    }

    function payout(uint256 i) external view returns (Payout memory) {
        Queued memory q = _payouts[i];
        Head memory h = _head;
        uint96 fee = uint96(_fee(q.amount));
        if (i < h.index) (h.paid, h.feePaid) = (q.amount, fee);
        else if (i > h.index) (h.paid, h.feePaid) = (0, 0);
        return Payout(q.claimId, q.claimant, q.amount, h.paid, fee, h.feePaid);
    }

    /// Fen the pool holds by its own books; equals its token balance unless someone sent it tokens.
    function balance() external view returns (uint256) {
        Totals memory t = totals;
        return uint256(t.paidIn) - t.paidOut - t.feesPaid - t.refunded;
    }

    // ---- internals ----

    function _stopIndex(Account memory a) private view returns (uint256) {
        if (a.mode == SHARING) return book.index;
        if (a.mode == LEAVING_AT_CLOSE) {
            return a.stopPeriod < book.closedCount ? _periods[a.stopPeriod].indexAfter : book.index;
        }
        if (a.mode == STOPPED) return a.stop;
        return a.paidUpTo;
    }

    function _stop(address member) private {
        Account storage a = _accounts[member];
        uint8 mode = a.mode;
        if (mode == SHARING) {
            --book.sharing;
        } else if (mode == LEAVING_AT_CLOSE && a.stopPeriod >= book.closedCount) {
            --book.sharing;
            --leavingAt[a.stopPeriod];
        } else if (mode != LEAVING_AT_CLOSE) {
            revert NotSharing(member);
        }
        a.stop = _stopIndex(a).toUint48();
        a.mode = STOPPED;
    }

    /// Held, and levied but not written off, less what was paid out: the smaller bounds payouts.
    function _spendable(Totals memory t) private pure returns (uint256) {
        uint256 out = uint256(t.paidOut) + t.feesPaid;
        uint256 held = uint256(t.paidIn) - t.refunded - out;
        uint256 collectable = uint256(t.levied) - t.writtenOff;
        uint256 levied = collectable > out ? collectable - out : 0;
        return held < levied ? held : levied;
    }

    function _fee(uint256 amount) private view returns (uint256) {
        return amount * feeBps / 10_000;
    }

    function _mandate(uint256 mandate) private pure returns (uint32) {
        return mandate >= NO_LIMIT ? NO_LIMIT : uint32(mandate);
    }

    function _unpacked(uint32 mandate) private pure returns (uint256) {
        return mandate == NO_LIMIT ? UNLIMITED : mandate;
    }

    /// Auto-debit under the mandate: false, changing nothing, when the mandate or balance is short.
    function _debit(address member, Account memory a, uint256 amount) private returns (bool) {
        if (a.mandate < amount) return false;
        if (!ICollectable(address(token)).collectFrom(member, amount)) return false;
        Account storage stored = _accounts[member]; // only the changed fields: one slot rewrite
        if (a.mandate != NO_LIMIT) stored.mandate = a.mandate -= uint32(amount);
        stored.paidUpTo = a.paidUpTo = (a.paidUpTo + amount).toUint48();
        emit SharePaid(member, amount, a.paidUpTo); // the caller adds `amount` to totals.paidIn
        return true;
    }

    /// The member's own payment (their transaction is their word; no mandate used).
    function _draw(address member, uint256 amount) private {
        if (!ICollectable(address(token)).collectFrom(member, amount)) {
            revert IERC20Errors.ERC20InsufficientBalance(member, token.balanceOf(member), amount);
        }
        Account storage a = _accounts[member];
        uint48 paidUpTo = (a.paidUpTo + amount).toUint48();
        a.paidUpTo = paidUpTo;
        _paidIn(member, amount, paidUpTo);
    }

    function _paidIn(address member, uint256 amount, uint48 paidUpTo) private {
        totals.paidIn += amount.toUint128();
        emit SharePaid(member, amount, paidUpTo);
    }
}
