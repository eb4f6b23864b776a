"""Signing for the node's unlocked accounts (a dev node's; none elsewhere, where every method
answers geth's "unknown account"): eth_sign and personal_sign (EIP-191), eth_signTypedData_v4
(EIP-712), and the signature of the transactions eth_signTransaction and eth_sendTransaction make.

An impersonated account (anvil_impersonateAccount) is in the accounts map without a key: its
transactions carry anvil's bypass signature (r = s = 1) and their sender is recorded by the chain;
it signs no messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_keys import keys
from eth_utils import to_checksum_address

from node.abc import RpcHandler, RpcNamespaceAPI, ServiceAPI
from node.calls.message import with_signature
from node.errors import SERVER_ERROR, RpcError
from node.rpc import params
from node.rpc.format import hb
from node.vm import BlockClass

BUILDER = BlockClass.transaction_builder


class Keys:
    """The accounts map (checksummed address -> key; empty for an impersonated address)."""

    def __init__(self, accounts: Mapping[str, bytes]) -> None:
        self.accounts = accounts

    def addresses(self) -> list[str]:
        return list(self.accounts)

    def lookup(self, address: bytes) -> bytes | None:
        """The key of an account this node sends for (b"" when impersonated)."""
        key = self.accounts.get(to_checksum_address(address))
        if key is None:
            raise RpcError(SERVER_ERROR, "unknown account")
        return key

    def key(self, address: bytes) -> bytes:
        key = self.lookup(address)
        if not key:
            name = to_checksum_address(address)
            raise RpcError(SERVER_ERROR, f"account {name} is impersonated: it has no key")
        return key

    def sign_message(self, address: bytes, signable: Any) -> str:
        signed = Account.sign_message(signable, self.key(address))
        return hb(bytes(signed.signature))  # v is 27 or 28, as geth's eth_sign gives it

    def sign_transaction(self, unsigned: Any, sender: bytes, chain_id: int) -> Any:
        """The signed py-evm transaction; an impersonated sender's carries the bypass signature."""
        key = self.lookup(sender)
        if not key:
            return bypass_signed(unsigned, sender, chain_id)
        signed = unsigned.as_signed_transaction(keys.PrivateKey(key), chain_id=chain_id)
        return BUILDER.decode(signed.encode())  # py-evm signs into an older fork's typed class


def bypass_signed(unsigned: Any, sender: bytes, chain_id: int) -> Any:
    """`unsigned` with anvil's bypass signature (r = s = 1), sent by `sender`."""
    return with_signature(unsigned, sender, 1, 1, chain_id * 2 + 35)


class SignMethods:
    """Part of the eth namespace: eth_accounts, eth_sign, eth_signTypedData_v4."""

    def __init__(self, keys_: Keys) -> None:
        self.keys = keys_

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "eth_accounts": self.keys.addresses,
            "eth_sign": self.sign,
            "eth_signTypedData_v4": self.sign_typed_data,
            "eth_signTypedData": self.sign_typed_data,  # web3.py's name; v1's array form is refused
        }

    def sign(self, address: Any, data: Any) -> str:
        """geth's eth_sign: keccak("\\x19Ethereum Signed Message:\\n" + len + data), v 27/28."""
        who, payload = params.address(address, "address"), params.data(data, "data")
        return self.keys.sign_message(who, encode_defunct(primitive=payload))

    def sign_typed_data(self, address: Any, typed: Any) -> str:
        """EIP-712 v4 (MetaMask's eth_signTypedData_v4; the data as an object or a JSON string)."""
        who = params.address(address, "address")
        try:
            message = json.loads(typed) if isinstance(typed, str) else typed
        except ValueError:
            raise params.bad("invalid argument 1: typed data is a JSON object or a string of one") from None
        if not isinstance(message, dict):
            raise params.bad(
                "invalid argument 1: EIP-712 typed data is an object {types, primaryType, domain, message}"
            )
        try:
            signable = encode_typed_data(full_message=message)
        except Exception as exc:
            raise params.bad(f"invalid argument 1: not EIP-712 typed data: {exc}") from None
        return self.keys.sign_message(who, signable)


class PersonalNamespace(RpcNamespaceAPI):
    """personal_sign (data, address): eth_sign with the arguments the other way round."""

    name = "personal"

    def __init__(self, keys_: Keys) -> None:
        self.signer = SignMethods(keys_)

    def methods(self) -> dict[str, RpcHandler]:
        return {"personal_sign": lambda data, address: self.signer.sign(address, data)}


class Signer(ServiceAPI):
    """What a node with unlocked accounts offers beyond eth: the personal namespace."""

    def __init__(self, accounts: Mapping[str, bytes]) -> None:
        self.keys = Keys(accounts)

    def rpc_namespaces(self) -> tuple[RpcNamespaceAPI, ...]:
        return (PersonalNamespace(self.keys),)
