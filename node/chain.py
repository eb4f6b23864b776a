"""The chain: py-evm execution over LMDB storage, one atomic write per committed block."""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.db.account import AccountDB
from eth.exceptions import HeaderNotFound, Revert
from eth.vm.chain_context import ChainContext
from eth.vm.spoof import SpoofTransaction
from eth_utils import ValidationError

from node.abc import AccountFilterAPI, ChainAPI, ClockAPI, ConsensusRulesAPI, TxLocation
from node.clock import SystemClock
from node.errors import InvalidBlock, NodeError
from node.estimate import estimate_gas as search_gas
from node.genesis import Genesis
from node.recent import Recent
from node.storage import StateOverlay, Store, log_index_keys, number_key
from node.vm import BlockClass, HeaderClass, HubaoVM, floor_data_gas

log = logging.getLogger("node.chain")

# Header fields the proposer chooses; everything else is recomputed by execution and compared.
PROPOSER_FIELDS = ("coinbase", "timestamp", "gas_limit", "extra_data", "mix_hash", "nonce")
HEADER_CACHE = 512
BLOCK_CACHE = 64  # decoded blocks and receipts: RPC clients poll the receipts of recent blocks


@dataclass
class Executed:
    """A block executed on top of head but not yet committed."""

    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]
    state_writes: dict[bytes, bytes]
    parent_hash: bytes
    reverts: dict[bytes, bytes]
    """Revert data of the block's failed transactions, by transaction hash (Besu's revertReason)."""


class _ChainDBView:
    """The slice of py-evm's ChainDatabaseAPI that a VM touches while executing a block."""

    def __init__(self, chain: Chain, overlay: StateOverlay) -> None:
        self._chain = chain
        self.db = overlay.atomic()

    def get_block_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        header = self._chain.get_header_by_hash(block_hash)
        if header is None:
            raise HeaderNotFound(block_hash.hex())
        return header

    def persist_trie_data_dict(self, trie_data_dict: dict) -> None:
        """Transaction and receipt tries are not stored: blocks and receipts are stored whole."""

    def exists(self, key: bytes) -> bool:
        return self.db.exists(key)


class DefaultRules(ConsensusRulesAPI):
    """Ethereum header identity and no extra rules (dev mode: the node trusts itself)."""


class Chain(ChainAPI):
    def __init__(
        self,
        store: Store,
        genesis: Genesis,
        rules: ConsensusRulesAPI | None = None,
        vm_class: type[HubaoVM] = HubaoVM,
        clock: ClockAPI | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()  # stamps the child block that calls run in
        self.genesis_config = genesis
        self.chain_id = genesis.chain_id
        self.gas_limit = genesis.gas_limit
        self.coinbase = genesis.coinbase
        self.rules = rules or DefaultRules()
        self._default_hash = type(self.rules).block_hash is ConsensusRulesAPI.block_hash
        self.vm_class = vm_class
        self.chain_context = ChainContext(genesis.chain_id)
        self.account_filter: AccountFilterAPI | None = None
        self._headers = Recent(HEADER_CACHE)
        # Decoding a body costs one RLP decode per transaction, so a receipt poll must not redo it.
        self._blocks = Recent(BLOCK_CACHE)
        self._receipts = Recent(BLOCK_CACHE)
        self._executed: dict[bytes, Executed] = {}
        self._calls = contextlib.ExitStack()  # the open costless state that eth_call reuses
        self._calls_key: tuple[bytes, int] | None = None
        self._calls_state = None
        self._subscribers: list[Callable[[BlockAPI, tuple], None]] = []
        head_hash = store.get("meta", b"head")
        if head_hash is None:
            self._init_genesis(genesis)
            store.commit({"meta": {b"chain_id": genesis.chain_id.to_bytes(8, "big")}})
            head_hash = store.get("meta", b"head")
        stored_id = store.get("meta", b"chain_id")
        if stored_id is not None and int.from_bytes(stored_id, "big") != genesis.chain_id:
            raise NodeError(
                f"the datadir holds chain {int.from_bytes(stored_id, 'big')}, not chain {genesis.chain_id}"
            )
        self._head = self.get_header_by_hash(head_hash)
        self._genesis = self.get_header_by_number(0)

    # -- identity ----------------------------------------------------------------------------
    def block_hash(self, header: BlockHeaderAPI) -> bytes:
        """The consensus identity of a header; also cached on the header so `header.hash` agrees."""
        if self._default_hash:
            return header.hash
        h = self.rules.block_hash(header)
        header._hash = h
        return h

    # -- genesis -----------------------------------------------------------------------------
    def _init_genesis(self, genesis: Genesis) -> None:
        overlay = StateOverlay(self.store)
        state = AccountDB(overlay.atomic())
        for address, account in genesis.alloc.items():
            state.set_balance(address, account["balance"])
            if account["nonce"]:
                state.set_nonce(address, account["nonce"])
            if account["code"]:
                state.set_code(address, account["code"])
            for slot, value in account["storage"].items():
                state.set_storage(address, slot, value)
        state.persist()
        header = HeaderClass(**genesis.header_fields(state.state_root))
        block = BlockClass(header, transactions=[], uncles=[], withdrawals=[])
        self._write_block(Executed(block, (), overlay.writes, b"\0" * 32, {}))

    # -- reads -------------------------------------------------------------------------------
    @property
    def head(self) -> BlockHeaderAPI:
        return self._head

    @property
    def genesis(self) -> BlockHeaderAPI:
        return self._genesis

    def get_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI | None:
        header = self._headers.get(block_hash)
        if header is not None:
            return header
        data = self.store.get("headers", block_hash)
        if data is None:
            return None
        header = rlp.decode(data, sedes=HeaderClass)
        header._hash = block_hash
        return self._headers.put(block_hash, header)

    def canonical_hash(self, number: int) -> bytes | None:
        return self.store.get("canon", number_key(number))

    def get_header_by_number(self, number: int) -> BlockHeaderAPI | None:
        if number < 0:
            return None
        h = self.canonical_hash(number)
        return None if h is None else self.get_header_by_hash(h)

    def get_block_by_hash(self, block_hash: bytes) -> BlockAPI | None:
        block = self._blocks.get(block_hash)
        if block is not None:
            return block
        data = self.store.get("bodies", block_hash)
        if data is None:
            return None
        block = rlp.decode(data, sedes=BlockClass)
        block.header._hash = block_hash
        return self._blocks.put(block_hash, block)

    def get_block_by_number(self, number: int) -> BlockAPI | None:
        h = self.canonical_hash(number)
        return None if h is None else self.get_block_by_hash(h)

    def get_revert_data(self, tx_hash: bytes) -> bytes | None:
        """What a committed transaction that reverted returned (None if it did not revert)."""
        return self.store.get("reverts", tx_hash)

    def get_receipts(self, block_hash: bytes) -> tuple[ReceiptAPI, ...]:
        receipts = self._receipts.get(block_hash)
        if receipts is not None:
            return receipts
        data = self.store.get("receipts", block_hash)
        if data is None:
            return ()
        builder = BlockClass.receipt_builder
        return self._receipts.put(block_hash, tuple(builder.decode(item) for item in rlp.decode(data)))

    def get_transaction_location(self, tx_hash: bytes) -> TxLocation | None:
        data = self.store.get("txs", tx_hash)
        if data is None:
            return None
        return TxLocation(data[:32], int.from_bytes(data[32:40], "big"), int.from_bytes(data[40:44], "big"))

    def blocks_with_logs(self, key_prefix: bytes, start: int, stop: int) -> list[int]:
        """Block numbers in [start, stop] holding a log with this address/topic (from the log index)."""
        n = len(key_prefix)
        return [
            int.from_bytes(k[n:], "big")
            for k, _ in self.store.scan(
                "logs", key_prefix + number_key(start), key_prefix + number_key(stop + 1)
            )
        ]

    # -- VM plumbing -------------------------------------------------------------------------
    def _vm(self, header: BlockHeaderAPI, overlay: StateOverlay) -> HubaoVM:
        return self.vm_class(header, _ChainDBView(self, overlay), self.chain_context, None)

    def state_at(self, header: BlockHeaderAPI):
        overlay = StateOverlay(self.store)
        return self._vm(header, overlay).state

    def trie_node(self, node_hash: bytes) -> bytes | None:
        """A state trie node by its hash, as stored (proofs are made of these)."""
        return self.store.get("state", node_hash)

    def replay_vm(self, header: BlockHeaderAPI) -> HubaoVM:
        """A VM on `header` over an overlay that is never committed: tracing replays blocks on it."""
        return self._vm(header, StateOverlay(self.store))

    def decode_transaction(self, raw: bytes) -> SignedTransactionAPI:
        return BlockClass.transaction_builder.decode(raw)

    def _allowed(self, sender: bytes, parent: BlockHeaderAPI) -> bool:
        return self.account_filter is None or self.account_filter.is_allowed(sender, self, parent)

    # -- building and validating ---------------------------------------------------------------
    def build_block(
        self,
        transactions: Sequence[SignedTransactionAPI],
        timestamp: int,
        extra_data: bytes = b"",
        coinbase: bytes | None = None,
    ) -> tuple[BlockAPI, tuple[ReceiptAPI, ...]]:
        parent = self._head
        header = self.vm_class.create_header_from_parent(
            parent,
            timestamp=max(int(timestamp), parent.timestamp + 1),
            gas_limit=self.gas_limit,
            coinbase=coinbase if coinbase is not None else self.coinbase,
            extra_data=extra_data,
        ).copy(**self.rules.header_fields())
        executed = self._execute(header, transactions, strict=False)
        return executed.block, executed.receipts

    def _execute(
        self, header: BlockHeaderAPI, transactions: Sequence[SignedTransactionAPI], strict: bool
    ) -> Executed:
        """Apply all transactions on one VM, then finalise once (py-evm's batch path)."""
        parent = self._head
        overlay = StateOverlay(self.store)
        vm = self._vm(header, overlay)
        block = BlockClass(header, transactions=[], uncles=[], withdrawals=[])
        vm.block_preprocessing(block)
        included: list[SignedTransactionAPI] = []
        receipts: list[ReceiptAPI] = []
        reverts: dict[bytes, bytes] = {}
        for index, tx in enumerate(transactions):
            try:
                if not self._allowed(tx.sender, parent):
                    raise ValidationError(f"sender {tx.sender.hex()} is not on the accounts allowlist")
                receipt, computation = vm.apply_transaction(header, tx)
            except ValidationError as exc:
                if strict:
                    raise InvalidBlock(f"transaction {index} (0x{tx.hash.hex()}): {exc}") from exc
                continue
            if computation.is_error and isinstance(computation.error, Revert):
                reverts[tx.hash] = computation.output
            header = vm.add_receipt_to_header(header, receipt)
            included.append(tx)
            receipts.append(receipt)
        block = vm.set_block_transactions_and_withdrawals(block, header, included, receipts)
        block = vm.finalize_block(vm.block_postprocessing(block)).block
        self.block_hash(block.header)
        executed = Executed(block, tuple(receipts), overlay.writes, parent.hash, reverts)
        self._executed[block.header.hash] = executed
        return executed

    def validate_block(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        return self._validate(block).receipts

    def _validate(self, block: BlockAPI) -> Executed:
        header = block.header
        parent = self._head
        if header.block_number != parent.block_number + 1:
            raise InvalidBlock(f"block #{header.block_number} does not follow head #{parent.block_number}")
        if header.parent_hash != parent.hash:
            raise InvalidBlock(
                f"block #{header.block_number} parent 0x{header.parent_hash.hex()} "
                f"is not head 0x{parent.hash.hex()}"
            )
        if header.timestamp <= parent.timestamp:
            raise InvalidBlock(f"timestamp {header.timestamp} is not after parent's {parent.timestamp}")
        if abs(header.gas_limit - parent.gas_limit) >= max(parent.gas_limit // 1024, 1):
            raise InvalidBlock(f"gas limit {header.gas_limit} moves too far from parent's {parent.gas_limit}")
        self.rules.validate_header(header, parent)
        template = self.vm_class.create_header_from_parent(
            parent, **{name: getattr(header, name) for name in PROPOSER_FIELDS}
        ).copy(**self.rules.header_fields())
        executed = self._execute(template, block.transactions, strict=True)
        expected = executed.block.header
        for name, _ in HeaderClass._meta.fields:
            if getattr(expected, name) != getattr(header, name):
                mine, theirs = getattr(expected, name), getattr(header, name)
                fmt = (lambda v: "0x" + v.hex()) if isinstance(mine, bytes) else str
                raise InvalidBlock(
                    f"block #{header.block_number} {name} mismatch: "
                    f"executed {fmt(mine)}, header {fmt(theirs)}"
                )
        executed.block = block
        return executed

    # -- committing --------------------------------------------------------------------------
    def commit_block(self, block: BlockAPI, receipts: Sequence[ReceiptAPI] | None = None) -> None:
        block_hash = self.block_hash(block.header)
        executed = self._executed.get(block_hash)
        if executed is None or executed.parent_hash != self._head.hash:
            executed = self._validate(block)
        executed.block = block
        self._write_block(executed)
        self._executed.clear()
        self._blocks.put(block_hash, block)  # already decoded: the first receipt poll is free too
        self._receipts.put(block_hash, executed.receipts)
        self._head = self.get_header_by_hash(block_hash)
        for callback in list(self._subscribers):
            try:
                callback(block, executed.receipts)
            except Exception:  # a subscriber must not undo a commit
                log.exception("new-head subscriber failed")

    def _write_block(self, executed: Executed) -> None:
        block = executed.block
        header = block.header
        block_hash = self.block_hash(header)
        number = header.block_number
        suffix = block_hash + number_key(number)
        receipts = executed.receipts
        logs = {}
        for key in log_index_keys(number, (lg for r in receipts for lg in r.logs)):
            logs[key] = b""
        writes = {
            "state": executed.state_writes,
            "headers": {block_hash: rlp.encode(header)},
            "bodies": {block_hash: rlp.encode(block)},
            "receipts": {block_hash: rlp.encode([encode_receipt(r) for r in receipts])},
            "reverts": executed.reverts,
            "canon": {number_key(number): block_hash},
            "txs": {tx.hash: suffix + i.to_bytes(4, "big") for i, tx in enumerate(block.transactions)},
            "logs": logs,
            "meta": {b"head": block_hash},
        }
        self.store.commit(writes)

    def rewind(self, number: int) -> None:
        """Dev mode only (evm_revert): make block `number` the head again, forgetting later blocks.

        One storage transaction drops their canonical entries and tx/log index entries; state
        nodes stay (they are content-addressed and harmless).
        """
        if number >= self._head.block_number:
            return
        canon, txs, logs, reverts = {}, {}, {}, {}
        for n in range(number + 1, self._head.block_number + 1):
            block = self.get_block_by_number(n)
            canon[number_key(n)] = None
            for tx in block.transactions:
                txs[tx.hash] = None
                reverts[tx.hash] = None
            for key in log_index_keys(n, (lg for r in self.get_receipts(block.header.hash) for lg in r.logs)):
                logs[key] = None
        target = self.canonical_hash(number)
        self.store.commit(
            {"canon": canon, "txs": txs, "logs": logs, "reverts": reverts, "meta": {b"head": target}}
        )
        self._executed.clear()
        self._blocks.clear()  # not needed for correctness (keys are hashes), frees abandoned blocks
        self._receipts.clear()
        self._head = self.get_header_by_hash(target)

    def subscribe_new_heads(self, callback: Callable[[BlockAPI, tuple], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    # -- calls ---------------------------------------------------------------------------------
    def _spoof(self, tx: dict, state, default_gas: int) -> SpoofTransaction:
        sender = tx.get("from") or b"\0" * 20
        unsigned = BlockClass.transaction_builder.create_unsigned_transaction(
            nonce=state.get_nonce(sender),
            gas_price=tx.get("gasPrice", 0),
            gas=tx.get("gas") or default_gas,
            to=tx.get("to") or b"",
            value=tx.get("value", 0),
            data=tx.get("data", b""),
        )
        return SpoofTransaction(unsigned, from_=sender)

    @contextlib.contextmanager
    def _costless_state(self, header: BlockHeaderAPI, timestamp: int):
        """The state after `header` in the context of its child stamped `timestamp`, with a base fee
        of 0 (py-evm's `in_costless_state`, but stamped by the node's clock, not the wall's)."""
        vm = self._vm(header, StateOverlay(self.store))
        child = self.vm_class.create_header_from_parent(header, coinbase=header.coinbase, timestamp=timestamp)
        hashes = itertools.chain((header.hash,), vm.previous_hashes)
        state = vm.build_state(vm.chaindb.db, child.copy(base_fee_per_gas=0), self.chain_context, hashes)
        snapshot = state.snapshot()
        try:
            yield state
        finally:
            state.revert(snapshot)

    def call(self, tx: dict, header: BlockHeaderAPI):
        """eth_call: execute on the state after `header`, in the context of its child, gas free.
        Calls on the same header and child timestamp (whole seconds of the clock) share one state,
        reverted after each, so its account and trie caches stay warm: a batch of hundreds of reads
        no longer builds a state and walks the trie from LMDB for each."""
        key = (header.hash, self.clock.child_timestamp(header.timestamp))
        if self._calls_key != key:
            self._calls.close()
            self._calls_state = self._calls.enter_context(self._costless_state(header, key[1]))
            self._calls_key = key
        state = self._calls_state
        snapshot = state.snapshot()
        try:
            return state.costless_execute_transaction(self._spoof(tx, state, state.gas_limit))
        finally:
            state.revert(snapshot)

    def estimate_gas(self, tx: dict, header: BlockHeaderAPI) -> int:
        with self._costless_state(header, self.clock.child_timestamp(header.timestamp)) as state:
            spoof = self._spoof(tx, state, state.gas_limit)
            return max(search_gas(state, spoof), floor_data_gas(spoof))


def encode_receipt(receipt: ReceiptAPI) -> bytes:
    """Typed receipts encode as type byte + RLP, legacy ones as plain RLP (EIP-2718)."""
    return receipt.encode()
