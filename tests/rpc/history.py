"""The history the rpc tests trace and prove, sent the same way to any node (ours, or anvil for
comparison): the Tracee contract deployed and its transactions mined, each in its own block."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from web3 import Web3

from harness.processes import DEV_KEYS
from tests.support.solidity import compile_source

HERE = Path(__file__).parent


@dataclass
class History:
    """The Tracee contract and the receipts of the transactions sent to it, by name."""

    w3: Web3
    contract: object = None
    receipts: dict = field(default_factory=dict)
    sender: object = field(default_factory=lambda: Account.from_key(DEV_KEYS[0]))

    def send(self, tx: dict, key: str = DEV_KEYS[0]):
        account = Account.from_key(key)
        fields = {
            "chainId": self.w3.eth.chain_id,
            "nonce": self.w3.eth.get_transaction_count(account.address),
        }
        fields |= {"maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, "gas": 3_000_000}
        signed = account.sign_transaction({**fields, **tx})
        return self.w3.eth.wait_for_transaction_receipt(
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        )

    def call(self, name: str, *args, **tx):
        data = self.contract.encode_abi(name, list(args))
        return self.send({"to": self.contract.address, "data": data, **tx})


def tracee_artifact() -> dict:
    return compile_source((HERE / "Tracee.sol").read_text(), "Tracee")


def make_history(w3: Web3) -> History:
    """Deploy Tracee and run it: run() (every kind of frame), broke(), fail(), a plain transfer."""
    history = History(w3)
    artifact = tracee_artifact()
    receipt = history.send({"data": artifact["bytecode"]})
    history.receipts["deploy"] = receipt
    history.contract = w3.eth.contract(receipt.contractAddress, abi=artifact["abi"])
    history.receipts["run"] = history.call("run", value=1000)
    history.receipts["broke"] = history.call("broke")
    history.receipts["fail"] = history.call("fail", gas=100_000)
    history.receipts["transfer"] = history.send(
        {"to": "0x000000000000000000000000000000000000c0DE", "value": 5}
    )
    return history
