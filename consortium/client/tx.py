"""Signing, sending and awaiting: the one pipeline the wallet, the operator CLI and the simulator
use. Local keys (the node has no unlocked accounts) and nonces counted locally; transactions sent
in JSON-RPC batches (one round trip for hundreds, each still signed by its own sender), their
receipts awaited together by reading each new block's receipts once rather than polling each
transaction, and a failure named from its receipt (`why_failed`)."""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3
from web3._utils.method_formatters import receipt_formatter
from web3.datastructures import AttributeDict
from web3.exceptions import Web3RPCError

from consortium.client.errors import ContractRefusal, TransactionError, as_refusal, decode_revert
from consortium.client.reads import block_receipts, rpc_batch

GAS_MARGIN = 1.25
FEE_TTL = 1.0  # seconds a fee quote is reused
POLL = 0.05  # seconds between looks at the head while receipts are awaited
SCAN_BLOCKS = 64  # awaited transactions sent longer ago than this many blocks are looked up by hash
# eth-tester mines each transaction in a block of its own and estimates gas by a slow binary
# search; there transactions go out with this flat allowance and a refusal is found by replaying
# the failed transaction on the block before it (exact, as that block held nothing else).
IN_PROCESS_GAS = 12_000_000
# The gas one transaction may ask of a consortium chain our tools make (config.hubao.txGasLimitCap,
# node/genesis.py): a batch the platform sends (enrolments, debits, mints) holds as many items as
# fit under the chain's cap (`tx_gas_cap`), this one where no node was asked.
TX_GAS_CAP = 5_000_000
_CAPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Web3 -> its chain's cap


def tx_gas_cap(w3: Web3) -> int:
    """The most gas one transaction may ask of the chain behind `w3`: eth_config's
    `current.hubao.txGasLimitCap` (a Hubao node), else the latest block's gas limit (a node
    without it, such as anvil, or a chain without the rule). Asked once per connection. The
    in-process chain (eth-tester) stands in for a consortium's, so it keeps TX_GAS_CAP."""
    if w3 in _CAPS:
        return _CAPS[w3]
    if isinstance(w3.provider, EthereumTesterProvider):
        return TX_GAS_CAP
    try:
        cap = w3.provider.make_request("eth_config", [])["result"]["current"]["hubao"]["txGasLimitCap"]
        cap = int(cap, 16)
    except Exception:  # noqa: BLE001 (no such method, no such field: the node has no such rule)
        cap = int(w3.eth.get_block("latest")["gasLimit"])
    _CAPS[w3] = cap
    return cap


def per_transaction(base: int, each: int, most: int, cap: int = TX_GAS_CAP) -> int:
    """How many items of `each` gas, on top of `base`, one transaction of at most `cap` gas holds
    (at most `most`)."""
    return max(1, min(most, (cap - base) // each))


@dataclass(frozen=True)
class Signed:
    """A transaction signed and not yet sent (its sender's nonce is taken)."""

    tx: dict
    raw: str
    hash: HexBytes
    label: str
    sender: Transactor


@dataclass
class Pending:
    """A sent transaction; `wait` it (or `wait_all` many). `after`: the latest block when it was
    sent, so its receipt is in that block or a later one."""

    hash: HexBytes
    tx: dict
    label: str
    sender: Transactor
    after: int = 0

    def wait(self, timeout: float = 120) -> Any:
        return wait_all([self], timeout)[0]


class Transactor:
    """One account sending transactions through one web3 connection; `nonce`: where its count
    starts when the caller knows it (else read from the node at the first send)."""

    def __init__(self, w3: Web3, key: str | bytes, nonce: int | None = None):
        self.w3 = w3
        self.account = Account.from_key(key)
        self.address = self.account.address
        self._lock = threading.Lock()
        self._nonce = nonce
        self.chain_id = w3.eth.chain_id
        self.in_process = isinstance(w3.provider, EthereumTesterProvider)

    # ---- nonces and fees ----

    def next_nonce(self) -> int:
        with self._lock:
            if self._nonce is None:
                self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
            nonce = self._nonce
            self._nonce += 1
            return nonce

    def resync(self) -> None:
        with self._lock:
            self._nonce = None

    def fees(self) -> dict:
        return fee_quote(self.w3)

    # ---- signing and sending ----

    def estimate(self, fn, value: int = 0) -> int:
        try:
            if self.in_process:
                return IN_PROCESS_GAS
            gas = fn.estimate_gas({"from": self.address, "value": value})
        except Exception as exc:
            refusal = as_refusal(exc)
            if refusal is not None:
                raise refusal from None
            raise
        return int(gas * GAS_MARGIN) + 10_000

    def sign(self, fn, gas: int, value: int = 0, label: str = "") -> Signed:
        """A contract call or constructor with this gas limit, signed with the next nonce."""
        tx = fn.build_transaction(
            {"from": self.address, "value": value, "gas": gas, "nonce": self.next_nonce(),
             "chainId": self.chain_id, **self.fees()}
        )  # fmt: skip
        return self._signed(tx, label or getattr(fn, "fn_name", "deploy"))

    def _signed(self, tx: dict, label: str) -> Signed:
        signed = self.account.sign_transaction(tx)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        return Signed(tx, raw, HexBytes(signed.hash), label, self)

    def send(self, fn, *, value: int = 0, gas: int | None = None, wait: bool = True, label: str = ""):
        """Sign and send a contract call or constructor. Without `gas` the call is estimated first,
        which surfaces a refusal as ContractRefusal before anything is sent."""
        if gas is None:
            gas = self.estimate(fn, value)
        return self._send(self.sign(fn, gas, value, label), wait)

    def transfer_eth(self, to: str, value: int, wait: bool = True):
        tx = {"to": to, "value": value, "gas": 21_000, "nonce": self.next_nonce(), "chainId": self.chain_id}
        return self._send(self._signed({**tx, **self.fees()}, "transfer"), wait)

    @staticmethod
    def _send(signed: Signed, wait: bool):
        (sent,) = submit([signed])
        if isinstance(sent, NodeRefused):
            raise sent.raised from None  # one send: as web3 raises it
        if isinstance(sent, Exception):
            raise sent
        return sent.wait() if wait else sent


_fees: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fee_quote(w3: Web3) -> dict:
    """EIP-1559 fees for the next blocks (twice the base fee, as web3 does, plus the tip), shared
    by every sender on the connection and reused for FEE_TTL seconds."""
    now = time.monotonic()
    cached = _fees.get(w3)
    if cached is None or now - cached[0] > FEE_TTL:
        base = w3.eth.get_block("latest").get("baseFeePerGas")
        if base is None:
            quote = {"gasPrice": w3.eth.gas_price}
        else:
            try:
                tip = w3.eth.max_priority_fee
            except Exception:
                tip = 0
            quote = {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}
        _fees[w3] = cached = (now, quote)
    return dict(cached[1])


def nonces(w3: Web3, addresses: list[str]) -> list[int]:
    """Each account's next nonce (its pending count), read in JSON-RPC batches."""
    replies = rpc_batch(w3, [("eth_getTransactionCount", [a, "pending"]) for a in addresses])
    return [int(r["result"], 16) for r in replies]


def submit(signed: list[Signed]) -> list:
    """Send signed transactions (through the first one's connection) in JSON-RPC batches, in
    order: per transaction its Pending, or the refusal or TransactionError the node answered (the
    sender's nonce count is then read again, as that nonce was not used)."""
    if not signed:
        return []
    first = signed[0].sender
    if first.in_process:  # eth-tester takes no batches
        return [_submit_one(first.w3, s) for s in signed]
    calls = [("eth_blockNumber", []), *(("eth_sendRawTransaction", [s.raw]) for s in signed)]
    replies = rpc_batch(first.w3, calls)
    after = int(replies[0]["result"], 16)
    return [_sent(s, r.get("error"), after) for s, r in zip(signed, replies[1:], strict=True)]


def _submit_one(w3: Web3, s: Signed):
    try:
        w3.eth.send_raw_transaction(s.raw)
    except Exception as exc:
        return _sent(s, exc, 0)
    return _sent(s, None, w3.eth.block_number)


class NodeRefused(TransactionError):
    """The node would not take a transaction (its answer to eth_sendRawTransaction, e.g. a nonce
    already used or too little gas money); `raised`: the error web3 itself raises for it."""

    def __init__(self, label: str, message: str, raised: Exception):
        super().__init__(f"{label}: {message}")
        self.raised = raised


def _sent(s: Signed, error: Any, after: int):
    if error is None:
        return Pending(s.hash, s.tx, s.label, s.sender, after)
    s.sender.resync()
    if isinstance(error, Exception):
        raised = error
        message = str(error)
    else:
        raised = Web3RPCError(str(error), rpc_response={"jsonrpc": "2.0", "id": 0, "error": error})
        message = error.get("message") if isinstance(error, dict) else str(error)
    return as_refusal(ValueError(error) if isinstance(error, dict) else error) or NodeRefused(
        s.label, message, raised
    )


@dataclass(frozen=True)
class Queued:
    """A signer whose writes join a batch (the `sender=` of a contract wrapper's write): each needs
    its gas limit, as nothing is estimated; the write returns its ticket in the batch."""

    batch: Batch
    signer: Transactor

    def send(self, fn, *, value: int = 0, gas: int | None = None, wait: bool = True, label: str = "") -> int:
        if gas is None or value:
            raise ValueError("a batched transaction needs its gas limit and sends no value")
        return self.batch.add(self.signer, fn, gas, label)


class Batch:
    """Transactions queued now, then signed, sent together (`send`) and awaited together (`run`):
    per transaction its receipt, or the ContractRefusal / TransactionError that explains its
    failure, at the index (the ticket) `add` returned."""

    def __init__(self) -> None:
        self.items: list[tuple[Transactor, Any, int, str]] = []

    def add(self, signer: Transactor, fn, gas: int, label: str = "") -> int:
        self.items.append((signer, fn, gas, label))
        return len(self.items) - 1

    def by(self, signer: Transactor) -> Queued:
        return Queued(self, signer)

    def __len__(self) -> int:
        return len(self.items)

    def send(self) -> list:
        """Sign in the order queued (a sender's nonces follow it) and send; Pendings (or refusals)."""
        items, self.items = self.items, []
        return submit([signer.sign(fn, gas, label=label) for signer, fn, gas, label in items])

    def run(self, timeout: float = 300) -> list:
        return wait_all(self.send(), timeout, strict=False)


def wait_all(pendings: list, timeout: float = 300, strict: bool = True) -> list:
    """Receipts in order (as web3 decodes them); an entry that is not a Pending (a send already
    refused) passes through. A failed transaction comes back as the exception naming it
    (`why_failed`); strict: the first failure is raised instead."""
    results = list(pendings)
    sent = [i for i, p in enumerate(pendings) if isinstance(p, Pending)]
    if sent:
        first = pendings[sent[0]].sender
        awaited = [pendings[i] for i in sent]
        receipts = (_in_process if first.in_process else _by_block)(first.w3, awaited, timeout)
        for i, p, receipt in zip(sent, awaited, receipts, strict=True):
            results[i] = _outcome(first.w3, p, receipt, timeout)
    if strict and (failed := next((r for r in results if isinstance(r, Exception)), None)) is not None:
        raise failed
    return results


def _outcome(w3: Web3, p: Pending, receipt: Any, timeout: float):
    if receipt is None:
        return TransactionError(f"{p.label}: no receipt after {timeout:.0f}s")
    if _quantity(receipt["status"]) != 1:
        return why_failed(w3, p, receipt, p.sender.in_process)
    if isinstance(receipt, AttributeDict):  # in-process: web3's own
        return receipt
    return AttributeDict.recursive(receipt_formatter(receipt))


def _in_process(w3: Web3, pendings: list[Pending], timeout: float) -> list:
    deadline = time.monotonic() + timeout
    out = []
    for p in pendings:
        left = max(1.0, deadline - time.monotonic())
        out.append(w3.eth.wait_for_transaction_receipt(p.hash, timeout=left, poll_latency=POLL))
    return out


def _by_block(w3: Web3, pendings: list[Pending], timeout: float) -> list:
    """Raw receipts (None: none by the deadline), found in the receipts of each block from the
    oldest `after` on, each block read once; those sent long ago are first looked up by hash."""
    want = {bytes(p.hash): i for i, p in enumerate(pendings)}
    found: list = [None] * len(pendings)
    cursor = min(p.after for p in pendings)
    head = _head(w3)
    if head - cursor > SCAN_BLOCKS:
        hashes = [("eth_getTransactionReceipt", ["0x" + bytes(p.hash).hex()]) for p in pendings]
        _take(want, found, [r.get("result") for r in rpc_batch(w3, hashes)])
        cursor = head + 1
    deadline = time.monotonic() + timeout
    while want:
        if head >= cursor:
            _take(want, found, [r for b in block_receipts(w3, range(cursor, head + 1)) for r in b])
            cursor = head + 1
        if not want or time.monotonic() > deadline:
            break
        time.sleep(POLL)
        head = _head(w3)
    return found


def _head(w3: Web3) -> int:
    return int(rpc_batch(w3, [("eth_blockNumber", [])])[0]["result"], 16)


def _take(want: dict, found: list, receipts: list) -> None:
    for r in receipts:
        if r and (i := want.pop(bytes.fromhex(r["transactionHash"][2:]), None)) is not None:
            found[i] = r


def why_failed(w3: Web3, pending: Pending, receipt: Any, in_process: bool = False) -> Exception:
    """Name a failed transaction from its own execution at its place in its block.

    In order: the receipt's `revertReason` (our nodes record it, Besu does with
    --revert-reason-enabled); out of gas when it used all its gas; the revert data of a
    `debug_traceTransaction` replay at its position (anvil, geth); on eth-tester, whose blocks
    hold one transaction, a replay on the block before. Otherwise the reason is unknown and
    said so: replaying on the parent block would ignore the transactions before it.
    """
    number = _quantity(receipt["blockNumber"])
    if (data := _hex_bytes(receipt.get("revertReason"))) is not None:
        return _refusal(pending, data, number)
    if _quantity(receipt["gasUsed"]) >= pending.tx["gas"]:
        return TransactionError(f"{pending.label}: out of gas ({_quantity(receipt['gasUsed'])})")
    if in_process:
        refusal = _replay_on_parent(w3, pending, number)
        if refusal is not None:
            return refusal
    elif (data := _traced_revert(w3, pending.hash)) is not None:
        return _refusal(pending, data, number)
    return TransactionError(
        f"{pending.label}: reverted in block {number} (reason unknown: the node records no revert data "
        "and does not trace transactions)"
    )


def _refusal(pending: Pending, data: bytes, number: int) -> Exception:
    if not data:
        return TransactionError(f"{pending.label}: reverted without a reason in block {number}")
    return decode_revert(data)


def _quantity(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _hex_bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    return None


def _traced_revert(w3: Web3, tx_hash: bytes) -> bytes | None:
    """The top call's revert data from geth's callTracer, or None when the node cannot trace."""
    try:
        reply = w3.provider.make_request(
            "debug_traceTransaction", ["0x" + bytes(tx_hash).hex(), {"tracer": "callTracer"}]
        )
    except Exception:
        return None
    result = reply.get("result") if isinstance(reply, dict) else None
    if not isinstance(result, dict) or not result.get("error"):
        return None
    return _hex_bytes(result.get("output", "0x"))


def _replay_on_parent(w3: Web3, pending: Pending, number: int) -> ContractRefusal | None:
    """eth-tester only: its blocks hold one transaction, so the parent is the exact position."""
    call = {k: pending.tx[k] for k in ("from", "to", "data", "value") if k in pending.tx}
    call["gas"] = pending.tx["gas"]
    try:
        w3.eth.call(call, block_identifier=max(number - 1, 0))
    except Exception as exc:
        return as_refusal(exc)
    return None
