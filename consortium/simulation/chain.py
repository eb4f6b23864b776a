"""The simulator's connection to a running consortium: web3 over JSON-RPC, the network's accounts,
and sending many locally signed transactions in JSON-RPC batches (one HTTP round trip for hundreds
of members, who each still sign their own transaction)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from hexbytes import HexBytes
from web3 import Web3

from consortium.client import TransactionError, Transactor
from consortium.client.errors import as_refusal
from consortium.client.reads import rpc_batch
from consortium.client.tx import Pending, why_failed


@dataclass(frozen=True)
class NetworkAccounts:
    """The test-network keys `hubao net init` wrote (accounts.json): deployer, operator, one plan
    staff account per organisation (`admins`: the suite's organisations and staff roles; not the
    allowlist admins, whose keys stay in each organisation's folder), and users (funded and on the
    account allowlist since genesis) who become the simulated members."""

    deployer: str
    operator: str
    admins: list[str]
    users: list[str]

    @classmethod
    def load(cls, path: str | Path) -> NetworkAccounts:
        data = json.loads(Path(path).read_text())
        return cls(
            deployer=data["deployer"]["privateKey"],
            operator=data["operator"]["privateKey"],
            admins=[a["privateKey"] for a in data["staff"]],
            users=[u["privateKey"] for u in data["users"]],
        )


def network_nodes(network_dir: str | Path) -> int:
    """How many nodes the network has (each executes every block)."""
    return len(json.loads((Path(network_dir) / "network.json").read_text())["nodes"])


def member_rpc(network_dir: str | Path) -> str:
    """JSON-RPC of the network's first member node (an organisation's own node), else validator-0."""
    nodes = json.loads((Path(network_dir) / "network.json").read_text())["nodes"]
    chosen = next((n for n in nodes if n["role"] == "member"), nodes[0])
    return f"http://{chosen.get('rpc_host') or chosen['host']}:{chosen['rpc_port']}"


class Key(Transactor):
    """A member's or a staff account's signer whose nonce is tracked locally from a known start."""

    def __init__(self, w3: Web3, key: str, nonce: int | None = None):
        super().__init__(w3, key)
        self._nonce = nonce


def fetch_nonces(w3: Web3, addresses: list[str]) -> list[int]:
    replies = rpc_batch(w3, [("eth_getTransactionCount", [a, "pending"]) for a in addresses])
    return [int(r["result"], 16) for r in replies]


@dataclass
class Sent:
    """What a batch reports for one transaction that landed."""

    hash: HexBytes
    label: str
    status: int
    gas_used: int
    block: int


class Batch:
    """Transactions signed locally now, sent together, and awaited together. `run()` returns, per
    transaction, a Sent (or, with full=True, web3's decoded receipt) or the ContractRefusal /
    TransactionError that explains its failure. A contract wrapper's write joins the batch with
    `sender=batch.by(signer)` and returns its ticket: the index of its result."""

    def __init__(self, w3: Web3):
        self.w3 = w3
        self.items: list[tuple[Transactor, object, int, str, bool]] = []

    def add(self, signer: Transactor, fn, gas: int, label: str = "", full: bool = False) -> int:
        self.items.append((signer, fn, gas, label or getattr(fn, "fn_name", "tx"), full))
        return len(self.items) - 1

    def by(self, signer: Transactor, full: bool = False) -> Queued:
        return Queued(self, signer, full)

    def __len__(self) -> int:
        return len(self.items)

    def run(self, timeout: float = 300) -> list:
        items, self.items = self.items, []
        if not items:
            return []
        fees = _fee_quote(self.w3)
        pendings: list[Pending | Exception] = []
        raws: list[str] = []
        for signer, fn, gas, label, _ in items:
            tx = fn.build_transaction(
                {
                    "from": signer.address,
                    "gas": gas,
                    "nonce": signer.next_nonce(),
                    "chainId": signer.chain_id,
                    "value": 0,
                    **fees,
                }
            )
            signed = signer.account.sign_transaction(tx)
            pendings.append(Pending(HexBytes(signed.hash), tx, label, signer))
            raws.append("0x" + bytes(signed.raw_transaction).hex())
        replies = rpc_batch(self.w3, [("eth_sendRawTransaction", [raw]) for raw in raws])
        for i, reply in enumerate(replies):
            if "error" in reply:
                p = pendings[i]
                p.sender.resync()  # the nonce was not used
                err = ValueError(reply["error"])
                pendings[i] = as_refusal(err) or TransactionError(
                    f"{p.label}: {reply['error'].get('message')}"
                )
        results = wait_receipts(self.w3, pendings, timeout)
        for i, (_, _, _, _, full) in enumerate(items):
            if full and isinstance(results[i], Sent):
                results[i] = self.w3.eth.get_transaction_receipt(results[i].hash)
        return results


@dataclass(frozen=True)
class Queued:
    """A signer whose writes join a batch (the `sender` of a contract wrapper's write): each needs
    its gas limit, as nothing is estimated."""

    batch: Batch
    signer: Transactor
    full: bool = False

    def send(self, fn, *, value: int = 0, gas: int | None = None, wait: bool = True, label: str = "") -> int:
        if gas is None or value:
            raise ValueError("a batched transaction needs its gas limit and sends no value")
        return self.batch.add(self.signer, fn, gas, label, self.full)


def _fee_quote(w3: Web3) -> dict:
    base = w3.eth.get_block("latest").get("baseFeePerGas")
    if base is None:
        return {"gasPrice": w3.eth.gas_price}
    tip = w3.eth.max_priority_fee
    return {"maxFeePerGas": 4 * base + tip, "maxPriorityFeePerGas": tip}


def wait_receipts(w3: Web3, pendings: list, timeout: float = 300) -> list:
    """Receipts for many pending transactions, polled in JSON-RPC batches."""
    results: list = list(pendings)
    waiting = [i for i, p in enumerate(pendings) if isinstance(p, Pending)]
    deadline = time.monotonic() + timeout
    while waiting:
        replies = rpc_batch(
            w3,
            [
                ("eth_getTransactionReceipt", ["0x" + pendings[i].hash.hex().removeprefix("0x")])
                for i in waiting
            ],
        )
        still = []
        for idx, reply in zip(waiting, replies, strict=True):
            r = reply.get("result")
            if not r:
                still.append(idx)
                continue
            p = pendings[idx]
            sent = Sent(
                p.hash, p.label, int(r["status"], 16), int(r["gasUsed"], 16), int(r["blockNumber"], 16)
            )
            if sent.status == 1:
                results[idx] = sent
            else:
                results[idx] = why_failed(w3, p, r)
        waiting = still
        if waiting:
            if time.monotonic() > deadline:
                for idx in waiting:
                    results[idx] = TransactionError(f"{pendings[idx].label}: no receipt after {timeout:.0f}s")
                break
            time.sleep(0.05 if len(waiting) <= 100 else 0.25)  # poll often, but not thousands at a time
    return results
