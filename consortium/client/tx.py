"""Signing and sending: local keys (the node has no unlocked accounts), explicit nonces, and
fire-now-wait-later so a simulator can keep thousands of transactions in flight."""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3

from consortium.client.errors import ContractRefusal, TransactionError, as_refusal, decode_revert

GAS_MARGIN = 1.25
FEE_TTL = 1.0  # seconds a fee quote is reused
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


@dataclass
class Pending:
    """A sent transaction; `wait` it (or `Transactor.wait_all` many)."""

    hash: HexBytes
    tx: dict
    label: str
    sender: Transactor

    def wait(self, timeout: float = 120) -> Any:
        return self.sender.wait(self, timeout)


class Transactor:
    """One account sending transactions through one web3 connection."""

    def __init__(self, w3: Web3, key: str | bytes):
        self.w3 = w3
        self.account = Account.from_key(key)
        self.address = self.account.address
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._fees: tuple[float, dict] | None = None
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
        now = time.monotonic()
        if self._fees is None or now - self._fees[0] > FEE_TTL:
            base = self.w3.eth.get_block("latest").get("baseFeePerGas")
            if base is None:
                quote = {"gasPrice": self.w3.eth.gas_price}
            else:
                try:
                    tip = self.w3.eth.max_priority_fee
                except Exception:
                    tip = 0
                quote = {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}
            self._fees = (now, quote)
        return dict(self._fees[1])

    # ---- sending ----

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

    def send(self, fn, *, value: int = 0, gas: int | None = None, wait: bool = True, label: str = ""):
        """Sign and send a contract call or constructor. Without `gas` the call is estimated first,
        which surfaces a refusal as ContractRefusal before anything is sent."""
        if gas is None:
            gas = self.estimate(fn, value)
        tx = fn.build_transaction(
            {
                "from": self.address,
                "value": value,
                "gas": gas,
                "nonce": self.next_nonce(),
                "chainId": self.chain_id,
                **self.fees(),
            }
        )
        return self._send_tx(tx, wait, label or getattr(fn, "fn_name", "deploy"))

    def transfer_eth(self, to: str, value: int, wait: bool = True):
        tx = {"to": to, "value": value, "gas": 21_000, "nonce": self.next_nonce(), "chainId": self.chain_id}
        return self._send_tx({**tx, **self.fees()}, wait, "transfer")

    def _send_tx(self, tx: dict, wait: bool, label: str):
        signed = self.account.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            if "nonce" in str(exc).lower():
                self.resync()  # someone else used this key; the next send starts from the node's count
            refusal = as_refusal(exc)
            if refusal is not None:
                raise refusal from None
            raise
        pending = Pending(HexBytes(tx_hash), tx, label, self)
        return pending.wait() if wait else pending

    # ---- waiting ----

    def wait(self, pending: Pending, timeout: float = 120) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(pending.hash, timeout=timeout, poll_latency=0.05)
        if receipt["status"] != 1:
            raise self._why_failed(pending, receipt)
        return receipt

    @staticmethod
    def wait_all(pendings: list[Pending], timeout: float = 300, strict: bool = True) -> list:
        """Receipts in order. strict: raise the first failure; else failures come back as exceptions."""
        deadline = time.monotonic() + timeout
        results = []
        for p in pendings:
            try:
                results.append(p.wait(max(1.0, deadline - time.monotonic())))
            except (ContractRefusal, TransactionError) as exc:
                if strict:
                    raise
                results.append(exc)
        return results

    def _why_failed(self, pending: Pending, receipt) -> Exception:
        return why_failed(self.w3, pending, receipt, self.in_process)


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
