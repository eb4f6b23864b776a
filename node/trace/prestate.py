"""geth's prestateTracer (eth/tracers/native/prestate.go): the accounts a transaction touched, as
they were before it; with `diffMode`, what it changed ({post, pre}).

An account is read the first time the transaction touches it (sender, recipient, coinbase and
7702 authorities at the start; then what SLOAD/SSTORE, BALANCE, EXTCODE*, CALL*, CREATE* and
SELFDESTRUCT name), which is before the transaction changed it. Accounts that were empty are left
out unless `includeEmpty`. JSON: balance (hex), code, codeHash, nonce (a JSON number), storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth._utils.address import generate_contract_address, generate_safe_contract_address
from eth.constants import EMPTY_SHA3

from node.errors import INVALID_PARAMS, RpcError
from node.trace.abc import Step, TracerAPI, TxInfo
from node.trace.opcodes import CALLS, CREATE, CREATE2, SELFDESTRUCT, SLOAD, SSTORE

DELEGATION_PREFIX = b"\xef\x01\x00"
ACCOUNT_READS = frozenset((0x3C, 0x3F, 0x3B, 0x31, SELFDESTRUCT))  # EXTCODECOPY/HASH/SIZE, BALANCE


@dataclass
class Account:
    balance: int | None  # None in a post entry whose balance did not change
    nonce: int
    code: bytes | None
    code_hash: bytes | None
    storage: dict[int, int] | None
    empty: bool = False


@dataclass(frozen=True)
class PrestateConfig:
    diff_mode: bool = False
    disable_code: bool = False
    disable_storage: bool = False
    include_empty: bool = False

    def __post_init__(self) -> None:
        if self.diff_mode and self.include_empty:
            raise RpcError(INVALID_PARAMS, "cannot use diffMode with includeEmpty")


def _int(value: int | bytes) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def _address(value: int | bytes) -> bytes:
    return (_int(value) & ((1 << 160) - 1)).to_bytes(20, "big")


@dataclass
class PrestateTracer(TracerAPI):
    config: PrestateConfig
    pre: dict[bytes, Account] = field(default_factory=dict)
    post: dict[bytes, Account] = field(default_factory=dict)
    created: set[bytes] = field(default_factory=set)
    deleted: set[bytes] = field(default_factory=set)
    state: Any = None

    # -- reading ---------------------------------------------------------------------------
    def lookup(self, address: bytes) -> None:
        if address in self.pre:
            return
        state = self.state
        code = state.get_code(address)
        account = Account(state.get_balance(address), state.get_nonce(address), code or None, None, None)
        code_hash = state.get_code_hash(address)
        if code and code_hash != EMPTY_SHA3:
            account.code_hash = code_hash
        account.empty = not (account.nonce or code or account.balance)
        if self.config.disable_code:
            account.code = None
        if not self.config.disable_storage:
            account.storage = {}
        self.pre[address] = account

    def lookup_delegate(self, address: bytes) -> None:
        code = self.state.get_code(address)
        if code.startswith(DELEGATION_PREFIX) and len(code) == 23:
            self.lookup(code[3:])

    # -- hooks -------------------------------------------------------------------------------
    def start(self, tx: TxInfo, state: Any) -> None:
        self.state = state
        if tx.is_create:
            self.created.add(tx.to)
        else:
            self.lookup_delegate(tx.to)
        for address in (tx.sender, tx.to, tx.coinbase, *tx.authorities):
            self.lookup(address)

    def step(self, step: Step, computation: Any) -> None:
        if step.error:
            return
        stack = computation._stack.values
        op, caller = step.op, computation.msg.storage_address
        if op in (SLOAD, SSTORE) and stack:
            account = self.pre.get(caller)
            slot = _int(stack[-1])
            if account is not None and account.storage is not None and slot not in account.storage:
                account.storage[slot] = self.state.get_storage(caller, slot)
        elif op in ACCOUNT_READS and stack:
            self.lookup(_address(stack[-1]))
            if op == SELFDESTRUCT and caller in self.created:  # EIP-6780
                self.deleted.add(caller)
        elif op in CALLS and len(stack) >= 5:
            self.lookup(_address(stack[-2]))
            self.lookup_delegate(_address(stack[-2]))
        elif op == CREATE:
            created = generate_contract_address(caller, self.state.get_nonce(caller))
            self.lookup(created)
            self.created.add(created)
        elif op == CREATE2 and len(stack) >= 4:
            offset, size, salt = _int(stack[-2]), _int(stack[-3]), _int(stack[-4])
            memory = bytes(computation._memory._bytes[offset : offset + size]).ljust(size, b"\0")
            created = generate_safe_contract_address(caller, salt, memory)
            self.lookup(created)
            self.created.add(created)

    def end(self, top: Any, gas_used: int, state: Any) -> None:
        if self.config.diff_mode:
            self._diff(state)
        if not self.config.include_empty:
            self.pre = {a: acc for a, acc in self.pre.items() if not acc.empty}

    def _diff(self, state: Any) -> None:
        for address, before in list(self.pre.items()):
            if address in self.deleted:  # gone after: kept in pre, not in post
                continue
            after = Account(state.get_balance(address), state.get_nonce(address), None, None, {})
            changed = False
            if after.balance != before.balance:
                changed = True
            code_hash = state.get_code_hash(address)
            if code_hash != (before.code_hash or EMPTY_SHA3):
                changed, after.code_hash = True, code_hash
            if not self.config.disable_code:
                code = state.get_code(address)
                if code != (before.code or b""):
                    changed, after.code = True, code
            for slot, value in list((before.storage or {}).items()):
                if value == 0:
                    del before.storage[slot]
                now = state.get_storage(address, slot)
                if now == value:
                    before.storage.pop(slot, None)
                else:
                    changed = True
                    if now:
                        after.storage[slot] = now
            if after.nonce != before.nonce:
                changed = True
            if changed:
                after.balance = after.balance if after.balance != before.balance else None
                after.nonce = after.nonce if after.nonce != before.nonce else 0
                self.post[address] = after
            else:
                del self.pre[address]

    def result(self) -> dict:
        if self.config.diff_mode:
            return {"post": _accounts(self.post), "pre": _accounts(self.pre)}
        return _accounts(self.pre)


def _accounts(accounts: dict[bytes, Account]) -> dict[str, dict]:
    return {"0x" + address.hex(): _account(acc) for address, acc in accounts.items()}


def _account(acc: Account) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if acc.balance is not None:
        out["balance"] = hex(acc.balance)
    if acc.code is not None:
        out["code"] = "0x" + acc.code.hex()
    if acc.code_hash is not None:
        out["codeHash"] = "0x" + acc.code_hash.hex()
    if acc.nonce:
        out["nonce"] = acc.nonce
    if acc.storage:
        out["storage"] = {
            "0x" + slot.to_bytes(32, "big").hex(): "0x" + value.to_bytes(32, "big").hex()
            for slot, value in acc.storage.items()
        }
    return out
