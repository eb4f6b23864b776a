"""One deployed contract behind typed methods: the base every wrapper (contracts.py, allowlist.py)
builds on. Only the wrappers name the contract's functions; callers use their methods."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from eth_abi import decode, encode
from eth_utils import to_checksum_address
from web3 import Web3
from web3.logs import DISCARD

from consortium.client.abi import artifacts
from consortium.client.reads import rpc_batch
from consortium.client.tx import Transactor


@lru_cache(maxsize=64)
def _factory(w3: Web3, artifact: str):
    return w3.eth.contract(abi=artifacts()[artifact]["abi"], decode_tuples=True)


@dataclass(frozen=True)
class Function:
    """One function of a contract's ABI, encoded and decoded here with eth_abi: web3's encoders
    and formatters cost a millisecond a call, which thousands of members' transactions and reads
    turn into minutes."""

    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    record: type | None  # a named tuple for a single struct output
    addresses: tuple[int, ...] = ()  # which outputs (or struct fields) are addresses: checksummed

    def _checksummed(self, values: tuple) -> tuple:
        if not self.addresses:
            return values
        return tuple(to_checksum_address(v) if i in self.addresses else v for i, v in enumerate(values))

    def calldata(self, args: tuple) -> str:
        values = [_normal(t, v) for t, v in zip(self.inputs, args, strict=True)]
        return "0x" + (self.selector + encode(self.inputs, values)).hex()

    def result(self, raw: str):
        values = decode(self.outputs, bytes.fromhex(raw[2:]))
        if self.record is not None:
            return self.record(*self._checksummed(values[0]))
        values = self._checksummed(values)
        return values[0] if len(values) == 1 else values


MULTIREAD_AT = "0x" + "4d52" * 10  # where eth_call's state override puts Multiread's code
READS_PER_CALL = 200  # view calls carried by one eth_call (well inside a node's gas cap for calls)


def multiread(w3: Web3, target: str, calldata: list[str], what: str = "read") -> list[str]:
    """The return data of many view calls to `target`, READS_PER_CALL to an eth_call through
    contracts/client/Multiread.sol (put in place by a state override, never deployed), those
    eth_calls in JSON-RPC batches: a node runs one call per chunk instead of one per read. A read
    that reverts raises, naming `what`."""
    code = "0x" + artifacts()["Multiread"]["deployed"].removeprefix("0x")
    each = _functions("Multiread")["each"]
    chunks = [calldata[i : i + READS_PER_CALL] for i in range(0, len(calldata), READS_PER_CALL)]
    override = {MULTIREAD_AT: {"code": code}}
    calls = [
        ("eth_call", [{"to": MULTIREAD_AT, "data": each.calldata((target, chunk))}, "latest", override])
        for chunk in chunks
    ]
    out: list[str] = []
    for reply in rpc_batch(w3, calls):
        if "error" in reply:
            raise RuntimeError(f"{what}: {reply['error']}")
        ok, results = each.result(reply["result"])
        if not all(ok):
            raise RuntimeError(f"{what}: a read reverted (0x{results[ok.index(False)].hex()})")
        out += ["0x" + r.hex() for r in results]
    return out


def _normal(abi_type: str, value):
    """As web3 takes them: hex strings for bytes, and that inside arrays and structs too."""
    if abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        return [_normal(inner, v) for v in value]
    if abi_type.startswith("("):
        return tuple(_normal(t, v) for t, v in zip(_split(abi_type[1:-1]), value, strict=True))
    if abi_type.startswith("bytes") and isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return value


def _split(types: str) -> list[str]:
    """The top-level members of a tuple's type list."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(types):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(types[start:i])
            start = i + 1
    return [*out, types[start:]] if types else out


@cache
def _functions(artifact: str) -> dict[str, Function]:
    out = {}
    for item in artifacts()[artifact]["abi"]:
        if item["type"] != "function" or item["name"] in out:
            continue
        inputs = tuple(_types(item["inputs"]))
        outputs = tuple(_types(item["outputs"]))
        record, fields = None, item["outputs"]
        if len(item["outputs"]) == 1 and item["outputs"][0]["type"] == "tuple":
            fields = item["outputs"][0]["components"]
            record = namedtuple(
                item["outputs"][0]["internalType"].split(".")[-1].split()[-1], [c["name"] for c in fields]
            )
        addresses = tuple(i for i, f in enumerate(fields) if f["type"] == "address")
        selector = bytes(Web3.keccak(text=f"{item['name']}({','.join(inputs)})")[:4])
        out[item["name"]] = Function(item["name"], selector, inputs, outputs, record, addresses)
    return out


@dataclass(frozen=True)
class Call:
    """An encoded contract call, as Transactor and a simulator's batch use web3's ContractFunction:
    `build_transaction`, `estimate_gas` and `fn_name`."""

    w3: Web3
    to: str
    data: str
    fn_name: str

    def build_transaction(self, tx: dict) -> dict:
        return {**tx, "to": self.to, "data": self.data}

    def estimate_gas(self, tx: dict) -> int:
        return self.w3.eth.estimate_gas({**tx, "to": self.to, "data": self.data})


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
        fn = Call(self.w3, self.address, _functions(self.artifact)[name].calldata(args), name)
        if estimate:
            return signer.estimate(fn, value)
        return signer.send(fn, wait=wait, gas=gas, value=value)

    @staticmethod
    def landed(kw: dict) -> bool:
        """Whether a write with these keywords returns a receipt (to decode) rather than a Pending,
        a gas estimate or a batch's ticket."""
        return kw.get("wait", True) and not kw.get("estimate") and kw.get("sender") is None

    def read_each(self, name: str, args: list[tuple]) -> list:
        """One view function for many argument tuples, in JSON-RPC batches, encoded and decoded here
        (Function): for thousands of members several times faster than web3's batch formatters. A
        struct comes back as a named tuple."""
        f = _functions(self.artifact)[name]
        if not hasattr(self.w3.provider, "make_batch_request"):  # in-process (eth-tester): web3's
            return [self.call(name, *a) for a in args]
        data = [f.calldata(a) for a in args]
        return [f.result(raw) for raw in multiread(self.w3, self.address, data, name)]

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

    def function_names(self) -> dict[bytes, str]:
        """4-byte selector -> function name, for each function of the contract (to tell what a
        transaction to it did)."""
        out = {}
        for item in self.contract.abi:
            if item["type"] == "function":
                signature = f"{item['name']}({','.join(_types(item['inputs']))})"
                out[bytes(Web3.keccak(text=signature)[:4])] = item["name"]
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
