"""The transaction pool: admission checks with geth's error texts, nonce and fee ordering, and
geth's bounds (docs/nodes.md#limits): a size limit per transaction and a gas cap, executable slots
and queue counts per account and in total with the cheapest pushed out when full, funds checked
per sender across everything it has in the pool, a lifetime for transactions waiting behind a
nonce gap, and a re-check when the account allowlist changes (as Besu does)."""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Sequence

import rlp
from eth.abc import BlockAPI, SignedTransactionAPI

from node.abc import AccountFilterAPI, ChainAPI, TxPoolAPI
from node.errors import TxRejected
from node.limits import NodeLimits, Refusals, following_chain
from node.poolbook import Account, PoolBook, effective_tip, num_slots, tx_cost
from node.senders import SECPK1_N, attach_sender
from node.vm import floor_data_gas

log = logging.getLogger("node.txpool")

PRICE_BUMP_PERCENT = 10  # geth's default --txpool.pricebump
UNSUPPORTED_TYPES = {3}  # blob transactions: no blob sidecars on a consortium chain


class TxPool(TxPoolAPI):
    def __init__(self, chain: ChainAPI, limits: NodeLimits | None = None) -> None:
        self.chain = chain
        self.limits = following_chain(limits or NodeLimits(), chain.tx_gas_cap)
        self.book = PoolBook()
        self.by_hash = self.book.by_hash
        self.on_new_tx: list[Callable[[SignedTransactionAPI], None]] = []
        self.account_filter: AccountFilterAPI | None = None
        self.refusals = Refusals(log)
        self._state = None
        self._state_head: bytes | None = None
        self._book_head: bytes | None = chain.head.hash

    # -- state at head (cached per head) -----------------------------------------------------
    def _follow_head(self) -> None:
        """The state at the head, read once per head; when the head moved without a commit (a dev
        rewind), every account's executable run is recounted from its nonce there."""
        head = self.chain.head
        if self._state_head != head.hash:
            self._state = self.chain.state_at(head)
            self._state_head = head.hash
        if self._book_head != head.hash:
            self._book_head = head.hash
            for sender in list(self.book.accounts):
                self.book.recount(sender, self._state.get_nonce(sender))

    def _head_state(self):
        self._follow_head()
        return self._state

    def next_base_fee(self) -> int:
        from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas

        return calculate_expected_base_fee_per_gas(self.chain.head)

    # -- admission ---------------------------------------------------------------------------
    def decode(self, raw: bytes) -> SignedTransactionAPI:
        if not raw:
            raise TxRejected("typed transaction too short")
        try:
            return self.chain.decode_transaction(raw)
        except (rlp.DecodingError, rlp.DeserializationError, ValueError, TypeError) as exc:
            raise TxRejected(f"rlp: invalid transaction encoding ({exc.__class__.__name__})") from exc
        except Exception as exc:  # py-evm raises assorted errors for unknown type bytes
            if raw[0] < 0x80:
                raise TxRejected("transaction type not supported") from exc
            raise TxRejected(f"rlp: invalid transaction encoding ({exc.__class__.__name__})") from exc

    def add(self, tx: bytes | SignedTransactionAPI, origin: str | None = None) -> bytes:
        """Admit a transaction; `origin` names who sent it (a peer) for the refusal log, which
        otherwise names the sending account."""
        raw = bytes(tx) if isinstance(tx, bytes | bytearray | memoryview) else None
        size = len(raw) if raw is not None else len(tx.encode())
        try:
            self._check_size(size)  # before decoding: an oversized blob costs nothing more
            tx = self.decode(raw) if raw is not None else tx
            self._admit(tx, raw, size)
        except LimitRefusal as exc:
            self.refusals.note(origin or exc.sender or "an RPC client", exc.limit, str(exc))
            raise
        for hook in list(self.on_new_tx):
            try:
                hook(tx)
            except Exception:
                log.exception("on_new_tx hook failed")
        return tx.hash

    def _admit(self, tx: SignedTransactionAPI, raw: bytes | None, size: int) -> None:
        if tx.type_id in UNSUPPORTED_TYPES:
            raise TxRejected("transaction type not supported")
        if tx.hash in self.by_hash:
            raise TxRejected("already known")
        self._check_static(tx)
        sender = self._sender(tx, raw)
        who = "0x" + sender.hex()
        if self.account_filter is not None and not self.account_filter.is_allowed(
            sender, self.chain, self.chain.head
        ):
            raise TxRejected("sender account not authorized to send transactions")
        state = self._head_state()
        acct = self.book.account(sender, state.get_nonce(sender))
        if tx.nonce < acct.nonce:
            raise TxRejected("nonce too low")
        old = acct.txs.get(tx.nonce)
        self._check_funds(who, state.get_balance(sender), acct, tx, old)
        if old is not None:
            bump = 100 + PRICE_BUMP_PERCENT
            if (
                tx.max_priority_fee_per_gas * 100 < old.max_priority_fee_per_gas * bump
                or tx.max_fee_per_gas * 100 < old.max_fee_per_gas * bump
            ):
                raise TxRejected("replacement transaction underpriced")
        else:
            self._make_room(sender, acct, tx, size)
        self.book.insert(sender, acct, tx, size)

    def _check_size(self, size: int) -> None:
        limit = self.limits.txpool_max_tx_size
        if size > limit:
            raise LimitRefusal(f"oversized data: transaction size {size}, limit {limit}", "oversized data")

    def _check_static(self, tx: SignedTransactionAPI) -> None:
        """Checks that need no state: chain id, signature, fees, gas."""
        chain_id = getattr(tx, "chain_id", None)
        if chain_id is None:
            raise TxRejected("only replay-protected (EIP-155) transactions allowed over RPC")
        if chain_id != self.chain.chain_id:
            raise TxRejected("invalid chain id for signer")
        if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
            raise TxRejected("max priority fee per gas higher than max fee per gas")
        if tx.gas > self.chain.gas_limit:
            raise TxRejected("exceeds block gas limit")
        cap = self.limits.tx_gas_cap
        if cap and tx.gas > cap:
            raise LimitRefusal(f"transaction gas limit too high (cap: {cap}, tx: {tx.gas})", "gas cap")
        try:
            intrinsic = tx.intrinsic_gas
        except Exception as exc:
            raise TxRejected(f"invalid transaction: {exc}") from exc
        if tx.gas < intrinsic:
            raise TxRejected("intrinsic gas too low")
        if tx.gas < floor_data_gas(tx):
            raise TxRejected("insufficient gas for floor data gas cost")
        if tx.max_fee_per_gas < self.next_base_fee():
            raise TxRejected("max fee per gas less than block base fee")

    @staticmethod
    def _check_funds(who: str, balance: int, acct: Account, tx, old) -> None:
        """geth's checks: the transaction alone, then with everything else the sender has pooled."""
        cost = tx_cost(tx)
        if balance < cost:
            raise TxRejected("insufficient funds for gas * price + value")
        spent = acct.cost - (tx_cost(old) if old is not None else 0)
        if balance < spent + cost:
            raise LimitRefusal(
                f"insufficient funds for gas * price + value: balance {balance}, queued cost {spent}, "
                f"tx cost {cost}, overshot {spent + cost - balance}",
                "overdraft",
                who,
            )

    def _make_room(self, sender: bytes, acct: Account, tx, size: int) -> None:
        """Refuse a newcomer the pool has no room for, or push out what it is worth more than."""
        who, limits, book = "0x" + sender.hex(), self.limits, self.book
        if tx.nonce > acct.run_end:  # it waits behind a nonce gap
            if acct.queued >= limits.txpool_account_queue:
                raise LimitRefusal("account limit exceeded", "account queue", who)
            while book.queued >= limits.txpool_global_queue:
                victim = book.queued_victim(sender)
                if victim is None:
                    raise LimitRefusal("txpool is full", "queue full", who)
                self._evict(*victim, "the queue is full")
            return
        need, base_fee = num_slots(size), self.next_base_fee()
        while book.pending_slots + need > limits.txpool_global_slots:
            victim = book.pending_victim(sender, limits.txpool_account_slots, base_fee)
            if victim is None:
                raise LimitRefusal("txpool is full", "pool full", who)
            victim_sender, victim_tx, over_share = victim
            if not over_share and effective_tip(tx, base_fee) <= effective_tip(victim_tx, base_fee):
                raise LimitRefusal("transaction underpriced", "pool full", who)
            self._evict(victim_sender, victim_tx, "the pool is full")

    def _evict(self, sender: bytes, tx: SignedTransactionAPI, why: str) -> None:
        self.book.remove(sender, tx)
        log.debug("evicted %s of 0x%s: %s", tx.hash.hex(), sender.hex(), why)

    @staticmethod
    def _sender(tx: SignedTransactionAPI, raw: bytes | None) -> bytes:
        """Recover the sender once; it is cached on the transaction for execution.

        A signature that recovers is valid for the recovered key; only high-s (EIP-2) and
        out-of-range values need refusing, and recovery itself refuses those that do not recover.
        """
        if not (0 < tx.r < SECPK1_N and 0 < tx.s <= SECPK1_N // 2) or tx.y_parity not in (0, 1):
            raise TxRejected("invalid transaction v, r, s values")
        try:
            return attach_sender(tx, raw) if raw is not None else tx.sender
        except Exception as exc:
            raise TxRejected("invalid sender") from exc

    # -- selection ---------------------------------------------------------------------------
    def pending(self, gas_limit: int | None = None) -> list[SignedTransactionAPI]:
        self._follow_head()
        base_fee = self.next_base_fee()
        budget = self.chain.gas_limit if gas_limit is None else gas_limit
        runs: dict[bytes, list[SignedTransactionAPI]] = {}
        for sender, acct in self.book.accounts.items():
            run = []
            for nonce in range(acct.nonce, acct.run_end):
                tx = acct.txs[nonce]
                if tx.max_fee_per_gas < base_fee:
                    break
                run.append(tx)
            if run:
                runs[sender] = run
        heap = [
            (-effective_tip(run[0], base_fee), i, sender, 0) for i, (sender, run) in enumerate(runs.items())
        ]
        heapq.heapify(heap)
        out: list[SignedTransactionAPI] = []
        while heap and budget >= 21000:
            _, i, sender, pos = heapq.heappop(heap)
            tx = runs[sender][pos]
            if tx.gas > budget:
                continue  # the rest of this sender's run cannot go before this one
            out.append(tx)
            budget -= tx.gas
            if pos + 1 < len(runs[sender]):
                heapq.heappush(heap, (-effective_tip(runs[sender][pos + 1], base_fee), i, sender, pos + 1))
        return out

    # -- upkeep ------------------------------------------------------------------------------
    def remove_included(self, block: BlockAPI) -> None:
        """After a commit: drop what the block included or made stale, and what its senders can
        no longer pay for (their balance fell)."""
        senders = set()
        for tx in block.transactions:
            existing = self.by_hash.get(tx.hash)
            senders.add(existing.sender if existing is not None else tx.sender)
        self._book_head = self.chain.head.hash
        state = self._head_state()
        for sender in senders:
            if sender in self.book.accounts:
                self.book.recount(sender, state.get_nonce(sender))
                self._drop_overdraft(sender, state.get_balance(sender))

    def _drop_overdraft(self, sender: bytes, balance: int) -> None:
        acct = self.book.accounts.get(sender)
        if acct is None or acct.cost <= balance:
            return
        spent, nonces = 0, sorted(acct.txs)
        for i, nonce in enumerate(nonces):
            spent += tx_cost(acct.txs[nonce])
            if spent > balance:
                for late in reversed(nonces[i:]):
                    self.book.remove(sender, acct.txs[late])
                log.info("dropped %d transactions of 0x%s: funds spent", len(nonces) - i, sender.hex())
                return

    def expire(self, now: float | None = None) -> int:
        """Drop the waiting (future-nonce) transactions of accounts quiet for longer than the
        lifetime (geth's 3 h); returns how many."""
        now = time.monotonic() if now is None else now
        dropped = 0
        for sender, acct in list(self.book.accounts.items()):
            if acct.queued and now - acct.beat > self.limits.txpool_lifetime:
                for nonce in sorted((n for n in acct.txs if n >= acct.run_end), reverse=True):
                    self.book.remove(sender, acct.txs[nonce])
                    dropped += 1
        if dropped:
            log.info("dropped %d waiting transactions older than %gs", dropped, self.limits.txpool_lifetime)
        return dropped

    def recheck_permissions(self) -> int:
        """Drop every transaction of accounts the account filter no longer allows (Besu does this
        when the allowlist changes); returns how many. Verdicts are one storage read per sender."""
        if self.account_filter is None:
            return 0
        dropped = 0
        head = self.chain.head
        for sender, acct in list(self.book.accounts.items()):
            if not self.account_filter.is_allowed(sender, self.chain, head):
                txs = sorted(acct.txs.values(), key=lambda t: -t.nonce)
                for tx in txs:
                    self.book.remove(sender, tx)
                dropped += len(txs)
                log.info("dropped %d transactions of 0x%s: off the account allowlist", len(txs), sender.hex())
        return dropped

    def drop(self, txs: Sequence[SignedTransactionAPI]) -> None:
        """Forget transactions that turned out not to be executable (e.g. funds spent meanwhile)."""
        for tx in txs:
            if tx.hash in self.by_hash:
                self.book.remove(tx.sender, tx)

    def get(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        return self.by_hash.get(tx_hash)

    def content(self) -> tuple[dict[bytes, list], dict[bytes, list]]:
        """(executable, waiting behind a nonce gap) transactions by sender, in nonce order."""
        self._follow_head()
        pending: dict[bytes, list] = {}
        queued: dict[bytes, list] = {}
        for sender, acct in self.book.accounts.items():
            for n in sorted(acct.txs):
                (pending if acct.nonce <= n < acct.run_end else queued).setdefault(sender, []).append(
                    acct.txs[n]
                )
        return pending, queued

    def nonce_of(self, sender: bytes) -> int:
        state = self._head_state()
        acct = self.book.accounts.get(sender)
        return acct.run_end if acct is not None else state.get_nonce(sender)

    def status(self) -> tuple[int, int]:
        """(executable, waiting behind a nonce gap) transactions held."""
        return len(self.by_hash) - self.book.queued, self.book.queued

    def __len__(self) -> int:
        return len(self.by_hash)


class LimitRefusal(TxRejected):
    """A refusal by one of the pool's bounds (logged once per party and limit, node.limits.Refusals)."""

    def __init__(self, message: str, limit: str, sender: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.sender = sender
