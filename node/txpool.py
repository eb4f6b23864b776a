"""The transaction pool: admission checks with geth's error texts, nonce and fee ordering."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Sequence

import rlp
from eth.abc import BlockAPI, SignedTransactionAPI

from node.abc import AccountFilterAPI, ChainAPI, TxPoolAPI
from node.errors import TxRejected
from node.senders import SECPK1_N, attach_sender
from node.vm import floor_data_gas

log = logging.getLogger("node.txpool")

PRICE_BUMP_PERCENT = 10  # geth's default --txpool.pricebump
MAX_PER_SENDER = 1024  # executable + queued per account
MAX_TOTAL = 16384
UNSUPPORTED_TYPES = {3}  # blob transactions: no blob sidecars on a consortium chain


def effective_tip(tx: SignedTransactionAPI, base_fee: int) -> int:
    return min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)


class TxPool(TxPoolAPI):
    def __init__(
        self, chain: ChainAPI, max_per_sender: int = MAX_PER_SENDER, max_total: int = MAX_TOTAL
    ) -> None:
        self.chain = chain
        self.max_per_sender = max_per_sender
        self.max_total = max_total
        self.by_hash: dict[bytes, SignedTransactionAPI] = {}
        self.by_sender: dict[bytes, dict[int, SignedTransactionAPI]] = {}
        self.on_new_tx: list[Callable[[SignedTransactionAPI], None]] = []
        self.account_filter: AccountFilterAPI | None = None
        self._state = None
        self._state_head: bytes | None = None

    # -- state at head (cached per head) -----------------------------------------------------
    def _head_state(self):
        head = self.chain.head
        if self._state_head != head.hash:
            self._state = self.chain.state_at(head)
            self._state_head = head.hash
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

    def add(self, tx: bytes | SignedTransactionAPI) -> bytes:
        raw = None
        if isinstance(tx, bytes | bytearray | memoryview):
            raw = bytes(tx)
            tx = self.decode(raw)
        if tx.type_id in UNSUPPORTED_TYPES:
            raise TxRejected("transaction type not supported")
        tx_hash = tx.hash
        if tx_hash in self.by_hash:
            raise TxRejected("already known")
        self._check_static(tx)
        sender = self._sender(tx, raw)
        if self.account_filter is not None and not self.account_filter.is_allowed(
            sender, self.chain, self.chain.head
        ):
            raise TxRejected("sender account not authorized to send transactions")
        state = self._head_state()
        if tx.nonce < state.get_nonce(sender):
            raise TxRejected("nonce too low")
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        if state.get_balance(sender) < cost:
            raise TxRejected("insufficient funds for gas * price + value")
        queue = self.by_sender.setdefault(sender, {})
        old = queue.get(tx.nonce)
        if old is not None:
            bump = 100 + PRICE_BUMP_PERCENT
            if (
                tx.max_priority_fee_per_gas * 100 < old.max_priority_fee_per_gas * bump
                or tx.max_fee_per_gas * 100 < old.max_fee_per_gas * bump
            ):
                raise TxRejected("replacement transaction underpriced")
            del self.by_hash[old.hash]
        else:
            if len(queue) >= self.max_per_sender:
                raise TxRejected("account limit exceeded")
            if len(self.by_hash) >= self.max_total:
                raise TxRejected("txpool is full")
            if tx.nonce >= state.get_nonce(sender) + self.max_per_sender:
                raise TxRejected("nonce too high")
        queue[tx.nonce] = tx
        self.by_hash[tx_hash] = tx
        for hook in list(self.on_new_tx):
            try:
                hook(tx)
            except Exception:
                log.exception("on_new_tx hook failed")
        return tx_hash

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
        state = self._head_state()
        base_fee = self.next_base_fee()
        budget = self.chain.gas_limit if gas_limit is None else gas_limit
        runs: dict[bytes, list[SignedTransactionAPI]] = {}
        for sender, queue in self.by_sender.items():
            nonce = state.get_nonce(sender)
            run = []
            while nonce in queue:
                tx = queue[nonce]
                if tx.max_fee_per_gas < base_fee:
                    break
                run.append(tx)
                nonce += 1
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
        senders = set()
        for tx in block.transactions:
            existing = self.by_hash.pop(tx.hash, None)
            senders.add(existing.sender if existing is not None else tx.sender)
        state = self._head_state()
        for sender in senders:
            queue = self.by_sender.get(sender)
            if not queue:
                continue
            floor = state.get_nonce(sender)
            for nonce in [n for n in queue if n < floor]:
                self.by_hash.pop(queue.pop(nonce).hash, None)
            if not queue:
                del self.by_sender[sender]

    def drop(self, txs: Sequence[SignedTransactionAPI]) -> None:
        """Forget transactions that turned out not to be executable (e.g. funds spent meanwhile)."""
        for tx in txs:
            if self.by_hash.pop(tx.hash, None) is None:
                continue
            queue = self.by_sender.get(tx.sender, {})
            queue.pop(tx.nonce, None)
            if not queue:
                self.by_sender.pop(tx.sender, None)

    def get(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        return self.by_hash.get(tx_hash)

    def content(self) -> tuple[dict[bytes, list], dict[bytes, list]]:
        state = self._head_state()
        pending: dict[bytes, list] = {}
        queued: dict[bytes, list] = {}
        for sender, queue in self.by_sender.items():
            nonce = state.get_nonce(sender)
            for n in sorted(queue):
                ready = n == nonce
                (pending if ready else queued).setdefault(sender, []).append(queue[n])
                nonce += ready
        return pending, queued

    def nonce_of(self, sender: bytes) -> int:
        nonce = self._head_state().get_nonce(sender)
        queue = self.by_sender.get(sender, {})
        while nonce in queue:
            nonce += 1
        return nonce

    def __len__(self) -> int:
        return len(self.by_hash)
