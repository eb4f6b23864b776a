"""The node's explicit interfaces: what the consensus, network and RPC layers program against.

Like py-evm's `eth/abc.py`: every layer talks to the others through these, so a QBFT engine, a
permissioning filter or a scaled clock plugs in without touching the chain or the pool.

Threading: the chain, the pool and the producer are driven from the node's asyncio loop thread;
the chain methods are synchronous (CPU-bound EVM work) and must not be called concurrently. Calls
(`ChainAPI.calls`) run on a call worker (a process of the node's own, or a thread) over its own
LMDB read transaction.
Block and header objects are py-evm's (`eth.abc.BlockAPI`, `BlockHeaderAPI`, `ReceiptAPI`,
`SignedTransactionAPI`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI

    from node.offloop import ExecutionThread


class ClockAPI(ABC):
    """Where header timestamps come from (wall clock, the consortium's scaled clock, dev offsets)."""

    timescale: float = 1.0
    """Chain seconds per real second (a consortium's scaled clock runs faster than the wall)."""

    @abstractmethod
    def now(self) -> float:
        """Seconds since the epoch, in chain time."""

    def child_timestamp(self, parent_timestamp: int) -> int:
        """The whole-second timestamp a child of a block stamped `parent_timestamp` gets now."""
        return max(int(self.now()), parent_timestamp + 1)


class ConsensusRulesAPI(ABC):  # noqa: B024 (defaults are the Ethereum rules)
    """Consensus-specific header rules, plugged into the chain (no PoW/PoS rules are built in).

    The chain calls `validate_header` on every block it validates or imports, and uses `block_hash`
    as the identity of a header everywhere (QBFT hashes the header without its commit seals).
    """

    def block_hash(self, header: BlockHeaderAPI) -> bytes:
        """Identity of a header; default keccak(rlp(header)) as in Ethereum."""
        from eth_hash.auto import keccak
        from rlp import encode

        return keccak(encode(header))

    def validate_header(self, header: BlockHeaderAPI, parent: BlockHeaderAPI) -> None:  # noqa: B027
        """Raise `node.errors.InvalidBlock` when the header breaks the consensus rules."""

    def header_fields(self) -> dict[str, Any]:
        """Header fields these rules fix in every block after the genesis (QBFT: Besu's difficulty 1,
        BFT mixHash, nonce 0, zero parent beacon root); the chain builds and expects them."""
        return {}


@dataclass(frozen=True)
class TxLocation:
    block_hash: bytes
    block_number: int
    index: int


class ChainAPI(ABC):
    """A durable, append-only chain: execute candidate blocks, validate received ones, commit."""

    chain_id: int
    gas_limit: int
    coinbase: bytes
    """The beneficiary of blocks built without an explicit one (genesis `coinbase`; eth_coinbase)."""
    rules: ConsensusRulesAPI
    account_filter: AccountFilterAPI | None
    """Permissioning consulted when building (skip) and importing (refuse) a block."""
    execution: ExecutionThread
    """Where a running node executes blocks, off its event loop (node/offloop.py)."""

    @property
    @abstractmethod
    def head(self) -> BlockHeaderAPI:
        """The last committed header."""

    @abstractmethod
    def block_hash(self, header: BlockHeaderAPI) -> bytes:
        """The header's identity under the consensus rules (also cached as `header.hash`)."""

    @abstractmethod
    def decode_transaction(self, raw: bytes) -> SignedTransactionAPI:
        """A raw legacy or typed (EIP-2718) transaction as the VM's transaction object."""

    @property
    @abstractmethod
    def genesis(self) -> BlockHeaderAPI: ...

    @abstractmethod
    def get_header_by_number(self, number: int) -> BlockHeaderAPI | None: ...

    @abstractmethod
    def get_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI | None: ...

    @abstractmethod
    def get_block_by_number(self, number: int) -> BlockAPI | None: ...

    @abstractmethod
    def get_block_by_hash(self, block_hash: bytes) -> BlockAPI | None: ...

    @abstractmethod
    def get_receipts(self, block_hash: bytes) -> tuple[ReceiptAPI, ...]: ...

    @abstractmethod
    def get_transaction_location(self, tx_hash: bytes) -> TxLocation | None: ...

    vm_class: Any
    """The py-evm VM class blocks execute on (tracing makes headers with it)."""
    tx_gas_cap: int | None
    """The genesis's gas cap per transaction, a block-validity rule (None: none)."""

    @abstractmethod
    def trie_node(self, node_hash: bytes) -> bytes | None:
        """A state trie node by its hash (eth_getProof)."""

    @abstractmethod
    def replay_vm(self, header: BlockHeaderAPI) -> Any:
        """A VM on `header` over state writes that are never committed (tracing replays blocks)."""

    @abstractmethod
    def template_of(self, parent: BlockHeaderAPI, header: BlockHeaderAPI) -> BlockHeaderAPI:
        """The header executing `header`'s block on `parent` starts from: the proposer's fields
        kept, everything execution fills in left to it."""

    @abstractmethod
    def get_revert_data(self, tx_hash: bytes) -> bytes | None:
        """The revert data a committed transaction returned at its place in its block, if it reverted."""

    @abstractmethod
    def build_block(
        self,
        transactions: Sequence[SignedTransactionAPI],
        timestamp: int,
        extra_data: bytes = b"",
        coinbase: bytes | None = None,
    ) -> tuple[BlockAPI, tuple[ReceiptAPI, ...]]:
        """Execute a candidate block on top of head, without committing it.

        One VM, all transactions applied in order, then finalised once. Transactions that are
        invalid against the state (nonce, balance, block gas left) are left out, not fatal.
        `commit_block` of the returned block does not execute it again.
        """

    @abstractmethod
    def validate_block(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        """Execute a block received from elsewhere on top of head, without committing.

        Raises `node.errors.InvalidBlock` naming the first mismatch (parent, number, timestamp,
        gas, consensus rules, transaction root, state root, receipts root, bloom, gas used).
        """

    @abstractmethod
    def commit_block(self, block: BlockAPI, receipts: Sequence[ReceiptAPI] | None = None) -> None:
        """Persist block, state, receipts and indexes in one storage transaction and move head.

        Validates (executes) the block first unless this chain built or validated it already.
        """

    @abstractmethod
    def subscribe_new_heads(self, callback: Callable[[BlockAPI, tuple], None]) -> Callable[[], None]:
        """Call `callback(block, receipts)` after each commit; returns an unsubscribe function."""

    @abstractmethod
    def state_at(self, header: BlockHeaderAPI) -> Any:
        """A read-only py-evm state (`eth.abc.StateAPI`) at the given header's state root."""

    calls: Any
    """The call family (eth_call, estimateGas, access lists, simulation, the pending block) on a
    call worker with its own snapshot (`node.calls.service.CallService`; a process of its own in
    a node process): the RPC layer awaits it, so no call holds the event loop."""

    @abstractmethod
    def call(self, tx: dict, header: BlockHeaderAPI) -> Any:
        """A message call on the caller's thread (in-process callers); returns a computation.

        It runs in the context of `header`'s child, stamped by the node's clock, gas free.
        """

    @abstractmethod
    def close(self) -> None:
        """Stop what the chain runs beside the loop (the call worker) before the store closes."""

    @abstractmethod
    def blocks_with_logs(self, key_prefix: bytes, start: int, stop: int) -> list[int]:
        """Numbers of blocks in [start, stop] holding a log of an address (`b"a" + address`) or a
        topic (`b"t" + topic`), from the log index."""

    @abstractmethod
    def rewind(self, number: int) -> None:
        """Dev controls only (evm_revert): make block `number` the head again, forgetting later ones."""


class AccountFilterAPI(ABC):
    """Permissioning: may this account send transactions? Called by pool, RPC, builder, importer."""

    @abstractmethod
    def is_allowed(self, sender: bytes, chain: ChainAPI, header: BlockHeaderAPI | None = None) -> bool: ...


class TxPoolAPI(ABC):
    """Transactions waiting for a block: admitted once with geth's checks, ordered for builders."""

    on_new_tx: list[Callable[[SignedTransactionAPI], None]]
    """Hooks called with every newly admitted transaction (gossip, subscriptions, sealer wake-up)."""

    account_filter: AccountFilterAPI | None

    @abstractmethod
    def decode(self, raw: bytes) -> SignedTransactionAPI:
        """A raw transaction as the VM's object; raises `node.errors.TxRejected` for bad bytes."""

    @abstractmethod
    def add(self, tx: bytes | SignedTransactionAPI, origin: str | None = None) -> bytes:
        """Admit a raw (RLP/typed) or decoded transaction; returns its hash. `origin` names the
        peer it came from, for the log of refusals (once per party and reason).

        Raises `node.errors.TxRejected` with geth's texts ("nonce too low", "already known",
        "replacement transaction underpriced", "insufficient funds for gas * price + value", ...).
        """

    @abstractmethod
    def pending(self, gas_limit: int | None = None) -> list[SignedTransactionAPI]:
        """Executable transactions: nonce order per sender, highest tip first across senders."""

    @abstractmethod
    def remove_included(self, block: BlockAPI) -> None:
        """Drop the transactions of a committed block and anything they made stale."""

    @abstractmethod
    def drop(self, txs: Sequence[SignedTransactionAPI]) -> None:
        """Forget transactions a builder found not executable (funds spent meanwhile, say)."""

    @abstractmethod
    def get(self, tx_hash: bytes) -> SignedTransactionAPI | None: ...

    @abstractmethod
    def content(self) -> tuple[dict[bytes, list], dict[bytes, list]]:
        """geth's TxPoolContent: per sender, in nonce order, the transactions that follow its
        state nonce without a gap (pending) and the rest (queued)."""

    @abstractmethod
    def nonce_of(self, sender: bytes) -> int:
        """Next nonce for `sender` counting pending transactions (eth_getTransactionCount 'pending')."""

    @abstractmethod
    def __len__(self) -> int:
        """Every transaction held, executable or queued behind a nonce gap."""


class LogFiltersAPI(ABC):
    """The polling filters of eth_newFilter & co. (ids are hex strings; unknown ids raise RpcError)."""

    @abstractmethod
    def new_log_filter(self, criteria: Any) -> str:
        """A filter of logs matching `criteria` (`node.rpc.filters.LogCriteria`)."""

    @abstractmethod
    def new_block_filter(self) -> str: ...

    @abstractmethod
    def new_pending_filter(self) -> str: ...

    @abstractmethod
    def changes(self, filter_id: str) -> list:
        """What arrived since the last poll."""

    @abstractmethod
    def all_logs(self, filter_id: str) -> list:
        """Every log a log filter matches, as eth_getLogs would answer."""

    @abstractmethod
    def uninstall(self, filter_id: str) -> bool: ...


class RpcBackendAPI(ABC):
    """What the node's own namespaces (eth, net, web3, txpool) read: one node's parts."""

    chain: ChainAPI
    txpool: TxPoolAPI
    filters: LogFiltersAPI
    unlocked: Mapping[str, bytes]
    """Address -> key of the accounts eth_sendTransaction signs for (a dev node's; empty elsewhere)."""
    revert_reason: bool
    """Receipts of failed transactions carry `revertReason` (Besu's --revert-reason-enabled)."""

    @abstractmethod
    def peer_count(self) -> int:
        """Connected p2p peers (net_peerCount); 0 for a node without a network."""

    def sync_status(self) -> dict[str, str] | bool:
        """eth_syncing: geth's {startingBlock, currentBlock, highestBlock} (hex) while catching
        up with peers, else False."""
        return False


RpcHandler = Callable[..., Any | Awaitable[Any]]


class RpcNamespaceAPI(ABC):
    """One JSON-RPC namespace a service offers (geth's `rpc.API`): `eth`, `qbft`, `perm`, ...

    The node's assembler registers every namespace its services offer, so a listener can serve a
    chosen subset (`--rpc-api`) and no service registers methods as a side effect of starting.
    """

    name: str
    """The prefix of every method, without the underscore."""

    @abstractmethod
    def methods(self) -> dict[str, RpcHandler]:
        """Full method names (`qbft_getStatus`) to handlers; each name starts with `name + "_"`."""

    def connection_methods(self) -> dict[str, RpcHandler]:
        """Methods called with the WebSocket connection first (eth_subscribe); none by default."""
        return {}


class RpcRegistryAPI(ABC):
    """Where the assembler registers namespaces; a server serves those its settings name."""

    @abstractmethod
    def add_namespace(self, namespace: RpcNamespaceAPI) -> None:
        """Register every method of a namespace; raises ValueError for a method outside its name
        or one another namespace registered already."""


class ServiceAPI(ABC):  # noqa: B024 (a service may offer no namespace)
    """A part of a node that offers JSON-RPC namespaces to the one place that assembles the node."""

    def rpc_namespaces(self) -> Sequence[RpcNamespaceAPI]:
        return ()


class NodeAPI(ABC):
    """A node's parts as its block producer sees them (`BlockProducerAPI.start(node)`)."""

    chain: ChainAPI
    txpool: TxPoolAPI
    clock: ClockAPI
    datadir: str
    """Where the producer keeps its own durable state (QBFT's lock and sign log)."""


class BlockProducerAPI(ServiceAPI):
    """Decides when blocks are made and committed: the dev sealer, or a QBFT engine."""

    @abstractmethod
    async def start(self, node: NodeAPI) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...


class DevControlAPI(ABC):
    """A dev chain's controls behind anvil's and hardhat's `evm_*` / `anvil_*` methods."""

    @abstractmethod
    def mine(self, timestamp: int | None = None) -> BlockAPI:
        """Seal one block now with whatever is pending (at `timestamp` if given)."""

    @abstractmethod
    def increase_time(self, seconds: int) -> int:
        """Move the clock forward; returns the total seconds it has been moved."""

    @abstractmethod
    def set_next_block_timestamp(self, timestamp: int) -> None:
        """The next block gets exactly `timestamp`; ValueError unless it is after the head's."""

    @abstractmethod
    def snapshot(self) -> int:
        """Remember the head and the clock; returns the snapshot's id."""

    @abstractmethod
    def revert(self, snapshot_id: int) -> bool:
        """Back to a snapshot (forgetting it and later ones); False for an unknown id."""

    @abstractmethod
    def set_mining(self, automine: bool | None = None, interval: float | None = None) -> None:
        """anvil's mining modes: automine on or off, or a block every `interval` seconds (0: none)."""

    @abstractmethod
    def mining(self) -> tuple[bool, float | None]:
        """(automine, interval seconds or None)."""

    @abstractmethod
    def edit_state(self, name: str, edit: Callable[[Any], None]) -> BlockAPI:
        """Apply `edit(state)` (a py-evm state) to the head's state, durably: as a block of its own,
        without transactions, named `name` in its extraData."""

    @abstractmethod
    def impersonate(self, address: bytes, on: bool) -> None:
        """Let eth_sendTransaction send for `address` without its key (or stop)."""

    @abstractmethod
    def drop_transaction(self, tx_hash: bytes) -> bool:
        """Forget a transaction of the pool; False when it is not there."""

    @abstractmethod
    def drop_all_transactions(self) -> None: ...

    @abstractmethod
    def reset(self) -> None:
        """Back to the genesis: later blocks, the pool, clock moves, snapshots forgotten."""
