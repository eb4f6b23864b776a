"""Sender recovery from raw bytes agrees with py-evm's for every transaction type we accept."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account

from node.senders import SECPK1_N, BadSignature, recover_sender
from node.vm import BlockClass

KEY = Account.create().key
BASE = {"nonce": 7, "to": "0x" + "11" * 20, "value": 5, "gas": 50_000, "data": b"\x01\x00\x02"}
SHAPES = {
    "legacy-155": {**BASE, "gasPrice": 10**9, "chainId": 1337},
    "access-list": {
        **BASE,
        "gasPrice": 10**9,
        "chainId": 1337,
        "type": 1,
        "accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 31 + "01"]}],
    },
    "dynamic-fee": {
        **BASE,
        "maxFeePerGas": 3 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "chainId": 1337,
        "type": 2,
    },
    "create": {**BASE, "to": "", "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 1, "chainId": 1337},
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_matches_py_evm(shape):
    fields = dict(SHAPES[shape])
    if not fields["to"]:
        del fields["to"]
    raw = bytes(Account.sign_transaction(fields, KEY).raw_transaction)
    tx = BlockClass.transaction_builder.decode(raw)
    assert recover_sender(raw) == tx.sender == bytes.fromhex(Account.from_key(KEY).address[2:])


def test_high_s_twin_signature_is_refused():
    """(r, n - s, !v) is the same signature's malleable twin: EIP-2 refuses it."""
    raw = bytes(Account.sign_transaction(SHAPES["dynamic-fee"], KEY).raw_transaction)
    items = rlp.decode(raw[1:])
    s = int.from_bytes(items[-1], "big")
    twin = [
        *items[:-3],
        b"" if items[-3] == b"\x01" else b"\x01",
        items[-2],
        (SECPK1_N - s).to_bytes(32, "big"),
    ]
    with pytest.raises(BadSignature, match="v, r, s"):
        recover_sender(raw[:1] + rlp.encode(twin))
