"""What the transaction pool holds, counted the way geth bounds it: per account, its transactions
by nonce, split into the executable run (consecutive nonces from the account's nonce at the head)
and the queue behind a nonce gap; for the pool, executable slots (32 KiB each, geth's numSlots)
and queued transactions. The pool (node/txpool.py) decides what to admit; the book keeps the
counts exact through inserts, evictions, commits and expiry, and names the cheapest victim."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from eth.abc import SignedTransactionAPI

SLOT_SIZE = 32 * 1024  # geth's txSlotSize


def num_slots(size: int) -> int:
    return max(1, (size + SLOT_SIZE - 1) // SLOT_SIZE)


def tx_cost(tx: SignedTransactionAPI) -> int:
    """What the sender must hold for it: gas * max fee + value."""
    return tx.gas * tx.max_fee_per_gas + tx.value


def effective_tip(tx: SignedTransactionAPI, base_fee: int) -> int:
    return min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)


@dataclass
class Account:
    """One sender's transactions in the pool."""

    nonce: int
    """The account's nonce at the head."""
    txs: dict[int, SignedTransactionAPI] = field(default_factory=dict)
    run_end: int = 0
    """The first nonce after the executable run that starts at `nonce`."""
    pending_slots: int = 0
    queued: int = 0
    cost: int = 0
    """Sum of tx_cost over all its transactions (funds are checked per sender, not per tx)."""
    beat: float = field(default_factory=time.monotonic)
    """When a transaction of it was last admitted (geth's heartbeat, for the queue's lifetime)."""

    @property
    def pending(self) -> int:
        return self.run_end - self.nonce


class PoolBook:
    def __init__(self) -> None:
        self.accounts: dict[bytes, Account] = {}
        self.by_hash: dict[bytes, SignedTransactionAPI] = {}
        self.sizes: dict[bytes, int] = {}
        self.pending_slots = 0
        self.queued = 0

    def __len__(self) -> int:
        return len(self.by_hash)

    def account(self, sender: bytes, nonce: int) -> Account:
        """The sender's account in the book, or a new empty one at `nonce` (not yet kept)."""
        acct = self.accounts.get(sender)
        return acct if acct is not None else Account(nonce=nonce, run_end=nonce)

    def slots_of(self, tx: SignedTransactionAPI) -> int:
        return num_slots(self.sizes[tx.hash])

    # -- changes -------------------------------------------------------------------------------
    def insert(self, sender: bytes, acct: Account, tx: SignedTransactionAPI, size: int) -> None:
        """Keep `tx` (replacing the one at its nonce, if any) and promote what it makes executable."""
        old = acct.txs.get(tx.nonce)
        if old is not None:
            self.remove(sender, old)
        self.accounts[sender] = acct
        acct.txs[tx.nonce] = tx
        self.by_hash[tx.hash] = tx
        self.sizes[tx.hash] = size
        acct.cost += tx_cost(tx)
        acct.beat = time.monotonic()
        acct.queued += 1
        self.queued += 1
        self._extend(acct)

    def _extend(self, acct: Account) -> None:
        while acct.run_end in acct.txs:
            slots = self.slots_of(acct.txs[acct.run_end])
            acct.pending_slots += slots
            self.pending_slots += slots
            acct.queued -= 1
            self.queued -= 1
            acct.run_end += 1

    def remove(self, sender: bytes, tx: SignedTransactionAPI) -> None:
        """Forget one transaction; those after it in its account's run wait behind the new gap."""
        acct = self.accounts[sender]
        del acct.txs[tx.nonce]
        del self.by_hash[tx.hash]
        slots = num_slots(self.sizes.pop(tx.hash))
        acct.cost -= tx_cost(tx)
        if tx.nonce >= acct.run_end:
            acct.queued -= 1
            self.queued -= 1
        elif tx.nonce == acct.run_end - 1:
            acct.run_end -= 1
            acct.pending_slots -= slots
            self.pending_slots -= slots
        else:
            self.recount(sender, acct.nonce)
        if not acct.txs:
            self.accounts.pop(sender, None)

    def recount(self, sender: bytes, nonce: int) -> list[SignedTransactionAPI]:
        """The account's nonce at the head is now `nonce`: forget what it made stale (returned),
        and count the run and the queue again."""
        acct = self.accounts[sender]
        stale = [acct.txs[n] for n in sorted(acct.txs) if n < nonce]
        for tx in stale:
            del acct.txs[tx.nonce]
            del self.by_hash[tx.hash]
            del self.sizes[tx.hash]
            acct.cost -= tx_cost(tx)
        self.pending_slots -= acct.pending_slots
        self.queued -= acct.queued
        acct.nonce = acct.run_end = nonce
        acct.pending_slots, acct.queued = 0, len(acct.txs)
        self.queued += acct.queued
        self._extend(acct)
        if not acct.txs:
            del self.accounts[sender]
        return stale

    # -- victims -------------------------------------------------------------------------------
    def queued_victim(self, exclude: bytes) -> tuple[bytes, SignedTransactionAPI] | None:
        """The last waiting transaction of the account with the most waiting (oldest first)."""
        best = None
        for sender, acct in self.accounts.items():
            if sender != exclude and acct.queued and (best is None or (acct.queued, -acct.beat) > best[0]):
                best = ((acct.queued, -acct.beat), sender)
        if best is None:
            return None
        acct = self.accounts[best[1]]
        return best[1], acct.txs[max(acct.txs)]

    def pending_victim(
        self, exclude: bytes, share: int, base_fee: int
    ) -> tuple[bytes, SignedTransactionAPI, bool] | None:
        """The executable transaction to push out for a newcomer: the last of the account furthest
        over its `share` (geth's accountslots), else the cheapest last one of any other account.
        The flag says whether it was over its share (then its price does not matter)."""
        over, cheapest = None, None
        for sender, acct in self.accounts.items():
            if sender == exclude or not acct.pending:
                continue
            tail = acct.txs[acct.run_end - 1]
            if acct.pending > share and (over is None or acct.pending > over[0]):
                over = (acct.pending, sender, tail)
            tip = effective_tip(tail, base_fee)
            if cheapest is None or tip < cheapest[0]:
                cheapest = (tip, sender, tail)
        if over is not None:
            return over[1], over[2], True
        if cheapest is not None:
            return cheapest[1], cheapest[2], False
        return None
