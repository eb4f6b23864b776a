"""Permissioning enforcement: the node reads the consortium's on-chain allowlists.

The lists live in `contracts/permissioning/ConsortiumAllowlist.sol`, predeployed in genesis at
`ALLOWLIST_ADDRESS` (the address is also in genesis `config.hubao.permissioning.contract`). The
node reads the contract's storage slots directly instead of running an eth_call: a sender check is
one storage read, cheap enough for every transaction at RPC, on gossip, in the block builder and on
import. The slot numbers here mirror the contract's declaration order.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from eth_utils import keccak, to_canonical_address

from node.abc import AccountFilterAPI, ChainAPI, RpcHandler, RpcNamespaceAPI, ServiceAPI

if TYPE_CHECKING:
    from eth.abc import BlockHeaderAPI

ALLOWLIST_ADDRESS = "0x0000000000000000000000000000000000008888"

SLOT_ADMINS = 0
SLOT_IS_ADMIN = 1
SLOT_ACCOUNTS = 2
SLOT_ACCOUNT_INDEX = 3
SLOT_NODES = 4
SLOT_NODE_INDEX = 5


def _word(value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return value.rjust(32, b"\x00")
    return value.to_bytes(32, "big")


def mapping_slot(key: bytes, slot: int) -> int:
    """Solidity's slot of `mapping[key]` declared at `slot` (address keys are left-padded)."""
    return int.from_bytes(keccak(_word(key) + _word(slot)), "big")


def array_slot(slot: int, index: int) -> int:
    """Solidity's slot of element `index` of a dynamic array of one-word elements at `slot`."""
    return int.from_bytes(keccak(_word(slot)), "big") + index


def genesis_storage(admins: list[str], accounts: list[str], nodes: list[str]) -> dict[int, int]:
    """The contract's storage as its constructor would leave it, for genesis `alloc`."""
    storage: dict[int, int] = {}

    def put_list(array_at: int, index_at: int | None, flag_at: int | None, items: list[str]) -> None:
        unique = list(dict.fromkeys(to_canonical_address(a) for a in items))
        storage[array_at] = len(unique)
        for i, item in enumerate(unique):
            storage[array_slot(array_at, i)] = int.from_bytes(item, "big")
            if index_at is not None:
                storage[mapping_slot(item, index_at)] = i + 1
            if flag_at is not None:
                storage[mapping_slot(item, flag_at)] = 1

    put_list(SLOT_ADMINS, None, SLOT_IS_ADMIN, admins)
    put_list(SLOT_ACCOUNTS, SLOT_ACCOUNT_INDEX, None, accounts)
    put_list(SLOT_NODES, SLOT_NODE_INDEX, None, nodes)
    return {k: v for k, v in storage.items() if v}


class Allowlist(ServiceAPI):
    """Reads the lists from the state after a header (head by default); offers the perm namespace."""

    def __init__(self, chain: ChainAPI, address: str = ALLOWLIST_ADDRESS) -> None:
        self.chain = chain
        self.address = to_canonical_address(address)

    def _state(self, header: BlockHeaderAPI | None):
        return self.chain.state_at(header if header is not None else self.chain.head)

    def _listed(self, who: bytes | str, index_slot: int, header) -> bool:
        key = to_canonical_address(who) if isinstance(who, str) else who
        return self._state(header).get_storage(self.address, mapping_slot(key, index_slot)) != 0

    def _items(self, array_at: int, header) -> list[str]:
        state = self._state(header)
        length = state.get_storage(self.address, array_at)
        out = []
        for i in range(min(length, 100_000)):
            raw = state.get_storage(self.address, array_slot(array_at, i))
            out.append("0x" + raw.to_bytes(20, "big").hex())
        return out

    def is_account_allowed(self, account: bytes | str, header=None) -> bool:
        return self._listed(account, SLOT_ACCOUNT_INDEX, header)

    def is_node_allowed(self, node: bytes | str, header=None) -> bool:
        return self._listed(node, SLOT_NODE_INDEX, header)

    def accounts(self, header=None) -> list[str]:
        return self._items(SLOT_ACCOUNTS, header)

    def nodes(self, header=None) -> list[str]:
        return self._items(SLOT_NODES, header)

    def admins(self, header=None) -> list[str]:
        return self._items(SLOT_ADMINS, header)

    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (PermNamespace(self),)


class PermNamespace(RpcNamespaceAPI):
    """Besu's permissioning read methods, answered from the on-chain lists at the head."""

    name = "perm"

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "perm_getAccountsAllowlist": lambda: self.allowlist.accounts(),
            "perm_getNodesAllowlist": lambda: self.allowlist.nodes(),
            "perm_getAdmins": lambda: self.allowlist.admins(),
        }


class AllowlistAccountFilter(AccountFilterAPI):
    """The pool's, RPC's, builder's and importer's account check: on the list at `header`.

    For a block being built or imported, `header` is its parent: a transaction is valid when its
    sender was allowed in the state it executes on. Verdicts are cached per state root (the list
    is a function of the state), so a block of a thousand transactions opens the state once.
    Locked: the execution thread (node/offloop.py) asks while the pool does on the event loop.
    """

    ROOTS = 4

    def __init__(self, address: str = ALLOWLIST_ADDRESS) -> None:
        self.address = to_canonical_address(address)
        self._verdicts: OrderedDict[bytes, tuple[object, dict[bytes, bool]]] = OrderedDict()
        self._lock = threading.Lock()

    def is_allowed(self, sender: bytes, chain: ChainAPI, header=None) -> bool:
        header = header if header is not None else chain.head
        with self._lock:
            return self._verdict(sender, chain, header)

    def _verdict(self, sender: bytes, chain: ChainAPI, header) -> bool:
        root = header.state_root
        entry = self._verdicts.get(root)
        if entry is None:
            entry = self._verdicts[root] = (chain.state_at(header), {})
            while len(self._verdicts) > self.ROOTS:
                self._verdicts.popitem(last=False)
        state, verdicts = entry
        verdict = verdicts.get(sender)
        if verdict is None:
            verdict = verdicts[sender] = (
                state.get_storage(self.address, mapping_slot(sender, SLOT_ACCOUNT_INDEX)) != 0
            )
        return verdict
