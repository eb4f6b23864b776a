"""One deployed contract behind typed methods: the base every wrapper (contracts.py, allowlist.py)
builds on. Only the wrappers name the contract's functions; callers use their methods."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from eth_abi import decode
from web3 import Web3
from web3.logs import DISCARD

from consortium.client.abi import artifacts
from consortium.client.reads import read_many, rpc_batch
from consortium.client.tx import Transactor


@lru_cache(maxsize=64)
def _factory(w3: Web3, artifact: str):
    return w3.eth.contract(abi=artifacts()[artifact]["abi"], decode_tuples=True)


class Bound:
    """One deployed contract and the account that signs for it.

    Every write takes the same keywords: `wait` (False: return the Pending), `gas` (None: estimate
    first, so a refusal surfaces before anything is sent), `estimate` (True: only the dry run, which
    returns the gas or raises the refusal) and `sender` (another signer, e.g. a simulator's batch,
    whose `send` takes the built call the way Transactor.send does)."""

    artifact = ""

    def __init__(self, w3: Web3, address: str, tx: Transactor | None, first_block: int = 0):
        self.w3 = w3
        self.first_block = first_block  # the deployment block: no log of ours is older
        self.address = Web3.to_checksum_address(address)
        self.contract = _factory(w3, self.artifact)(address=self.address)
        self.tx = tx

    def call(self, name: str, *args) -> Any:
        return getattr(self.contract.functions, name)(*args).call()

    def send(
        self,
        name: str,
        *args,
        wait: bool = True,
        gas: int | None = None,
        value: int = 0,
        estimate: bool = False,
        sender=None,
    ):
        signer = sender if sender is not None else self.tx
        if signer is None:
            raise RuntimeError("this client has no signing key")
        fn = getattr(self.contract.functions, name)(*args)
        if estimate:
            return signer.estimate(fn, value)
        return signer.send(fn, wait=wait, gas=gas, value=value)

    @staticmethod
    def landed(kw: dict) -> bool:
        """Whether a write with these keywords returns a receipt (to decode) rather than a Pending,
        a gas estimate or a batch's ticket."""
        return kw.get("wait", True) and not kw.get("estimate") and kw.get("sender") is None

    def read_each(self, name: str, args: list[tuple]) -> list:
        """One view function for many argument tuples, in JSON-RPC batches (decoded by web3, so
        structs come back as named tuples)."""
        fn = getattr(self.contract.functions, name)
        return read_many(self.w3, [fn(*a) for a in args])

    def read_each_plain(self, name: str, args: list[tuple]) -> list:
        """As read_each for a view with plain outputs (no struct), encoded and decoded here: for
        thousands of members it is several times faster than web3's batch formatters."""
        outputs = [o["type"] for o in self.contract.get_function_by_name(name).abi["outputs"]]
        calls = [
            ("eth_call", [{"to": self.address, "data": self.contract.encode_abi(name, list(a))}, "latest"])
            for a in args
        ]
        values = [decode(outputs, bytes.fromhex(r["result"][2:])) for r in rpc_batch(self.w3, calls)]
        return [v[0] if len(v) == 1 else v for v in values]

    def events(
        self, name: str, from_block: int | None = None, to_block: int | str = "latest", **filters
    ) -> list:
        """Decoded logs of one event, oldest first; keyword filters apply to indexed arguments."""
        event = getattr(self.contract.events, name)()
        start = self.first_block if from_block is None else from_block
        return list(event.get_logs(from_block=start, to_block=to_block, argument_filters=filters or None))

    def in_receipt(self, receipt, name: str) -> list:
        return list(getattr(self.contract.events, name)().process_receipt(receipt, errors=DISCARD))

    def event_decoders(self) -> dict[bytes, Any]:
        """topic0 -> web3's decoder, for each event of the contract (to decode raw logs)."""
        out = {}
        for item in self.contract.abi:
            if item["type"] == "event":
                signature = f"{item['name']}({','.join(_types(item['inputs']))})"
                out[bytes(Web3.keccak(text=signature))] = getattr(self.contract.events, item["name"])()
        return out

    def role(self, name: str) -> bytes:
        return self.call(name)

    def has_role(self, role_name: str, account: str) -> bool:
        return self.call("hasRole", self.role(role_name), account)


def _types(inputs: list[dict]) -> list[str]:
    out = []
    for i in inputs:
        if i["type"].startswith("tuple"):
            out.append("(" + ",".join(_types(i["components"])) + ")" + i["type"][5:])
        else:
            out.append(i["type"])
    return out
