"""The chain: py-evm execution over LMDB storage, one atomic write per committed block."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.db.account import AccountDB
from eth.vm.chain_context import ChainContext

from node.abc import AccountFilterAPI, ChainAPI, ClockAPI, ConsensusRulesAPI, TxLocation
from node.calls.message import CallArgs
from node.calls.service import CallService
from node.calls.snapshot import ChainDBView, decode_header
from node.clock import SystemClock
from node.errors import InvalidBlock, NodeError
from node.execution import run_block
from node.genesis import Genesis
from node.offloop import ExecutionThread
from node.recent import Recent
from node.storage import StateOverlay, Store, log_index_keys, number_key
from node.vm import BlockClass, HeaderClass, HubaoVM, vm_for

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


class _StoreReader:
    """The chain's own store and header cache as a call reader (for callers on the loop thread)."""

    def __init__(self, chain: Chain) -> None:
        self.get = chain.store.get
        self.get_header_by_hash = chain.get_header_by_hash


class DefaultRules(ConsensusRulesAPI):
    """Ethereum header identity and no extra rules (dev mode: the node trusts itself)."""


class Chain(ChainAPI):
    def __init__(
        self,
        store: Store,
        genesis: Genesis,
        rules: ConsensusRulesAPI | None = None,
        vm_class: type[HubaoVM] | None = None,
        clock: ClockAPI | None = None,
    ) -> None:
        self.store = store
        self.clock = clock or SystemClock()  # stamps the child block that calls run in
        self.chain_id = genesis.chain_id
        self.gas_limit = genesis.gas_limit
        self.coinbase = genesis.coinbase
        self.rules = rules or DefaultRules()
        self._default_hash = type(self.rules).block_hash is ConsensusRulesAPI.block_hash
        self.vm_class = vm_class or vm_for(genesis)  # the genesis's precompile prices
        self.tx_gas_cap = genesis.tx_gas_cap  # config.hubao.txGasLimitCap: a block-validity rule
        self.chain_context = ChainContext(genesis.chain_id)
        self.account_filter: AccountFilterAPI | None = None
        self._headers = Recent(HEADER_CACHE)
        # Decoding a body costs one RLP decode per transaction, so a receipt poll must not redo it.
        self._blocks = Recent(BLOCK_CACHE)
        self._receipts = Recent(BLOCK_CACHE)
        self._executed: dict[bytes, Executed] = {}
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
        self.reader = _StoreReader(self)
        self.calls = CallService(self)
        self.execution = ExecutionThread(store)

    def close(self) -> None:
        """End the call worker and the execution thread (their snapshots) before the store closes."""
        self.calls.close()
        self.execution.close()

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
        return self._headers.put(block_hash, decode_header(data, block_hash))

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
        for tx in block.transactions:
            if is_impersonated(tx):  # its sender is recorded, it cannot be recovered
                tx.__dict__["sender"] = self.store.get("txs", tx.hash)[44:64]
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
    def _vm(self, header: BlockHeaderAPI, overlay: StateOverlay, headers=None) -> HubaoVM:
        return self.vm_class(header, ChainDBView(headers or self, overlay), self.chain_context, None)

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
        header = self._child_header(timestamp, extra_data, coinbase)
        executed = self._execute(header, transactions, strict=False)
        return executed.block, executed.receipts

    def build_state_edit(
        self, edit: Callable[[Any], None], timestamp: int, extra_data: bytes = b""
    ) -> tuple[BlockAPI, tuple[ReceiptAPI, ...]]:
        """Dev controls only (anvil_setBalance & co.): a block without transactions whose state is
        the head's with `edit(state)` applied after the block's system calls. `commit_block` writes
        it like any block, so the edit is durable, atomic with the head, and `rewind` undoes it."""
        executed = self._execute(self._child_header(timestamp, extra_data, None), (), False, edit)
        return executed.block, executed.receipts

    def _child_header(self, timestamp: int, extra_data: bytes, coinbase: bytes | None) -> BlockHeaderAPI:
        parent = self._head
        return self.vm_class.create_header_from_parent(
            parent,
            timestamp=max(int(timestamp), parent.timestamp + 1),
            gas_limit=self.gas_limit,
            coinbase=coinbase if coinbase is not None else self.coinbase,
            extra_data=extra_data,
        ).copy(**self.rules.header_fields())

    def _execute(
        self,
        header: BlockHeaderAPI,
        transactions: Sequence[SignedTransactionAPI],
        strict: bool,
        edit: Callable[[Any], None] | None = None,
    ) -> Executed:
        """Apply all transactions on one VM, then finalise once (node/execution.py)."""
        parent = self._head
        overlay = StateOverlay(self.store)
        allowed = None if self.account_filter is None else (lambda sender: self._allowed(sender, parent))
        vm = self._vm(header, overlay)
        block, receipts, reverts = run_block(vm, header, transactions, strict, allowed, edit, self.tx_gas_cap)
        self.block_hash(block.header)
        executed = Executed(block, receipts, overlay.writes, parent.hash, reverts)
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
        self._check_gas_cap(block)
        executed = self._execute(self.template_of(parent, header), block.transactions, strict=True)
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

    def template_of(self, parent: BlockHeaderAPI, header: BlockHeaderAPI) -> BlockHeaderAPI:
        fields = {name: getattr(header, name) for name in PROPOSER_FIELDS}
        return self.vm_class.create_header_from_parent(parent, **fields).copy(**self.rules.header_fields())

    def _check_gas_cap(self, block: BlockAPI) -> None:
        """EIP-7825's rule with the genesis's cap: refused before anything of the block runs."""
        cap = self.tx_gas_cap
        for index, tx in enumerate(block.transactions if cap is not None else ()):
            if tx.gas > cap:
                raise InvalidBlock(
                    f"block #{block.header.block_number} transaction {index} (0x{tx.hash.hex()}) asks "
                    f"{tx.gas} gas, above the chain's cap per transaction {cap} (config.hubao.txGasLimitCap)"
                )

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
        self.calls.release(block_hash)
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
            "txs": {tx.hash: tx_entry(suffix, i, tx) for i, tx in enumerate(block.transactions)},
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
        self.calls.release(target)

    def subscribe_new_heads(self, callback: Callable[[BlockAPI, tuple], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    # -- calls (the RPC layer runs them off the loop through `calls`) ----------------------------
    def call(self, tx: dict, header: BlockHeaderAPI):
        """eth_call on the caller's thread (in-process callers): `tx` has bytes/int fields
        (from, to, data, value, gas); returns the py-evm computation."""
        args = CallArgs(
            tx.get("from"), tx.get("to"), tx.get("gas"), value=tx.get("value"), data=tx.get("data")
        )
        return self.calls.call_now(self.calls.env(header), args).computation


def is_impersonated(tx: SignedTransactionAPI) -> bool:
    """Sent by an impersonated account (a dev chain's anvil_impersonateAccount): anvil's bypass
    signature r = s = 1, which no key produces."""
    return tx.r == 1 and tx.s == 1


def tx_entry(suffix: bytes, index: int, tx: SignedTransactionAPI) -> bytes:
    """The tx index entry: block hash, number, index, and an impersonated transaction's sender."""
    entry = suffix + index.to_bytes(4, "big")
    return entry + tx.sender if is_impersonated(tx) else entry


def encode_receipt(receipt: ReceiptAPI) -> bytes:
    """Typed receipts encode as type byte + RLP, legacy ones as plain RLP (EIP-2718)."""
    return receipt.encode()
