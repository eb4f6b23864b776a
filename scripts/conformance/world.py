"""A node under test with the same history on every node: two Conformance contracts, a store, a
failed call and a relayed (nested) store, all signed here from the dev accounts both nodes fund.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

from conformance.contract import artifact
from node.genesis import dev_accounts

# The anvil / hardhat dev accounts (m/44'/60'/0'/0/i of "test test ... junk"); both nodes fund them.
KEYS = ["0x" + key.hex() for _, key in dev_accounts(6)]
GWEI = 10**9


@dataclass(frozen=True)
class Reply:
    result: Any = None
    error: dict | None = None

    @property
    def code(self) -> int | None:
        return None if self.error is None else self.error.get("code")

    @property
    def message(self) -> str:
        return "" if self.error is None else str(self.error.get("message"))


def calldata(signature: str, *args: Any) -> str:
    """ABI call data for `signature` ("store(uint256)") and its arguments."""
    types = signature[signature.index("(") + 1 : -1]
    encoded = encode([t for t in types.split(",") if t], list(args))
    return "0x" + (function_signature_to_4byte_selector(signature) + encoded).hex()


@dataclass
class World:
    url: str
    chain_id: int = 0
    contracts: dict[str, str] = field(default_factory=dict)  # "a", "b" -> address
    txs: dict[str, str] = field(default_factory=dict)  # "store", "fail", "relay" -> hash
    receipts: dict[str, dict] = field(default_factory=dict)
    head: int = 0  # the head once the history is in place
    facts: dict[str, Any] = field(default_factory=dict)  # what cases learn for later cases

    # -- talking to the node -----------------------------------------------------------------
    def rpc(self, method: str, *params: Any, timeout: float = 30.0) -> Reply:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            answer = json.loads(reply.read())
        if "error" in answer:
            return Reply(error=answer["error"])
        return Reply(result=answer.get("result"))

    def result(self, method: str, *params: Any) -> Any:
        reply = self.rpc(method, *params)
        if reply.error is not None:
            raise RuntimeError(f"{method}: {reply.error}")
        return reply.result

    def address(self, index: int) -> str:
        return Account.from_key(KEYS[index]).address

    def send(self, index: int, to: str | None, data: str = "0x", value: int = 0, **fields: Any) -> str:
        """Sign locally (both nodes take raw transactions) and send; returns the hash."""
        sender = self.address(index)
        tx = {
            "chainId": self.chain_id,
            "nonce": int(self.result("eth_getTransactionCount", sender, "pending"), 16),
            "maxFeePerGas": 50 * GWEI,
            "maxPriorityFeePerGas": GWEI,
            "gas": 500_000,
            "value": value,
            "data": data,
            **fields,
        }
        if to is not None:
            tx["to"] = to_checksum_address(to)
        raw = Account.sign_transaction(tx, KEYS[index]).raw_transaction
        return self.result("eth_sendRawTransaction", "0x" + bytes(raw).hex())

    def wait(self, tx_hash: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            receipt = self.result("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return receipt
            time.sleep(0.05)
        raise TimeoutError(f"{tx_hash} not mined after {timeout:.0f} s")

    def block(self, tag: Any = "latest", full: bool = False) -> dict:
        number = hex(tag) if isinstance(tag, int) else tag
        return self.result("eth_getBlockByNumber", number, full)

    # -- the shared history ------------------------------------------------------------------
    def build(self) -> World:
        self.chain_id = int(self.result("eth_chainId"), 16)
        code = artifact()["bytecode"]
        for name in ("a", "b"):
            receipt = self.wait(self.send(0, None, code, gas=1_000_000))
            self.contracts[name] = receipt["contractAddress"]
        a, b = self.contracts["a"], self.contracts["b"]
        history = {
            "store": (a, calldata("store(uint256)", 42)),
            "fail": (a, calldata("fail()")),
            "relay": (a, calldata("relay(address,uint256)", b, 7)),
        }
        for name, (to, data) in history.items():
            self.txs[name] = self.send(0, to, data, gas=200_000)
            self.receipts[name] = self.wait(self.txs[name])
        self.head = int(self.result("eth_blockNumber"), 16)
        return self

    def slot_of_writes(self, who: str) -> str:
        """The storage slot of `writes[who]` (mapping at slot 1)."""
        return "0x" + keccak(encode(["address", "uint256"], [who, 1])).hex()
