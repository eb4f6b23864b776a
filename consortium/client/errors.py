"""Refusals: a contract's custom error, decoded into one exception type the callers can match on."""

from __future__ import annotations

import ast
import re
from functools import cache

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from consortium.client.abi import artifacts as load_artifacts


class ContractRefusal(Exception):
    """A call the suite refused: `name` is the custom error (e.g. "StillInWaitingPeriod")."""

    def __init__(self, name: str, args: tuple = (), data: bytes = b""):
        self.name = name
        self.args_ = tuple(args)
        self.data = data
        super().__init__(f"{name}({', '.join(_show(a) for a in self.args_)})")


class TransactionError(Exception):
    """A transaction that failed without a decodable reason (out of gas, dropped, ...)."""


def _show(value) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)


def _canonical(inp: dict) -> str:
    if inp["type"].startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in inp["components"]) + ")" + inp["type"][5:]
    return inp["type"]


@cache
def error_table() -> dict[bytes, tuple[str, list[str]]]:
    """selector -> (name, argument types) for every custom error of every compiled contract."""
    table = {
        function_signature_to_4byte_selector("Error(string)"): ("Error", ["string"]),
        function_signature_to_4byte_selector("Panic(uint256)"): ("Panic", ["uint256"]),
    }
    for artifact in load_artifacts().values():
        for item in artifact["abi"]:
            if item["type"] == "error":
                types = [_canonical(i) for i in item["inputs"]]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                table[selector] = (item["name"], types)
    return table


def decode_revert(data: bytes) -> ContractRefusal:
    name, types = error_table().get(data[:4], (None, None))
    if name is None:
        return ContractRefusal("UnknownError", (data,), data)
    try:
        values = decode(types, data[4:])
    except Exception:
        return ContractRefusal(name, (data[4:],), data)
    values = tuple(
        to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)
    )
    return ContractRefusal(name, values, data)


_HEX = re.compile(r"0x[0-9a-fA-F]{8,}")


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a web3 or eth-tester exception, if there is any."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes | bytearray) and len(data) >= 4:
        return bytes(data)
    message = str(exc.args[0]) if exc.args else str(exc)
    if "execution reverted: b'" in message or 'execution reverted: b"' in message:
        # eth-tester puts the repr of the revert bytes into its message
        literal = message.split("execution reverted: ", 1)[1]
        try:
            value = ast.literal_eval(literal)
            if isinstance(value, bytes):
                return value
        except (ValueError, SyntaxError):
            pass
    if "revert" in message:
        for match in _HEX.finditer(message):  # ABI error data: a selector then 32-byte words
            data = bytes.fromhex(match.group(0)[2:]) if len(match.group(0)) % 2 == 0 else b""
            if len(data) >= 4 and (len(data) - 4) % 32 == 0:
                return data
    return None


def as_refusal(exc: BaseException) -> ContractRefusal | None:
    data = revert_data(exc)
    if data is None:
        message = str(exc.args[0]) if exc.args else str(exc)
        if "out of gas" in message.lower():
            return None  # not a refusal: the caller reports it as a TransactionError
        if "execution reverted" in message or "revert" in message.lower():
            return ContractRefusal("Reverted", (message,))
        return None
    return decode_revert(data)
