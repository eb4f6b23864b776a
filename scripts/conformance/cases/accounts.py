"""What dev accounts do for scripts: eth_sendTransaction honouring every field, and signing
(eth_sign, personal_sign, eth_signTypedData_v4, eth_signTransaction's {raw, tx})."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak

from conformance.checks import Case, holds, result

SIGNER = 1  # a dev account both nodes hold unlocked
MESSAGE = "0x687562616f"  # "hubao"
TYPED = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
        "Claim": [{"name": "member", "type": "address"}, {"name": "amount", "type": "uint256"}],
    },
    "primaryType": "Claim",
    "domain": {"name": "Hubao", "chainId": 1},
    "message": {"member": "0x000000000000000000000000000000000000c0de", "amount": 100},
}


def _signed_by(w, signature: str, message) -> bool:
    return Account.recover_message(message, signature=signature).lower() == w.address(SIGNER).lower()


def _sent(w, tx_hash: str) -> dict:
    w.wait(tx_hash)
    return w.result("eth_getTransactionByHash", tx_hash)


def _keeps(**want):
    """A fact: the mined transaction has these fields as sent."""

    def fact(w, tx_hash):
        mined = _sent(w, tx_hash)
        got = {k: mined.get(k) for k in want}
        return None if got == want else f"mined as {got}, sent {want}"

    return fact


def _tx(w, **fields) -> dict:
    return {"from": w.address(SIGNER), "to": w.address(4), "value": "0x1", "gas": "0x7530", **fields}


ACCESS = [{"address": "0x" + "ab" * 20, "storageKeys": ["0x" + "00" * 32]}]
GAS_PRICE = hex(3 * 10**9)


def _signed_tx(w, r) -> bool:
    raw = r["raw"]
    return r["tx"]["hash"] == "0x" + keccak(hexstr=raw).hex() and r["tx"]["gasPrice"] == hex(2 * 10**9)


CASES = [
    Case(
        "eth_sendTransaction",
        "a legacy transaction keeps its type and gasPrice",
        lambda w: [_tx(w, type="0x0", gasPrice=GAS_PRICE)],
        result("hash", _keeps(type="0x0", gasPrice=GAS_PRICE)),
    ),
    Case(
        "eth_sendTransaction",
        "a type-1 transaction keeps its accessList",
        lambda w: [_tx(w, type="0x1", gasPrice=GAS_PRICE, accessList=ACCESS)],
        result("hash", _keeps(type="0x1", accessList=ACCESS)),
    ),
    Case(
        "eth_sign",
        "an EIP-191 signature by the account",
        lambda w: [w.address(SIGNER), MESSAGE],
        result(
            "data",
            holds(lambda w, r: _signed_by(w, r, encode_defunct(hexstr=MESSAGE)), "not signed by the account"),
        ),
    ),
    Case(
        "personal_sign",
        "an EIP-191 signature by the account",
        lambda w: [MESSAGE, w.address(SIGNER)],
        result(
            "data",
            holds(lambda w, r: _signed_by(w, r, encode_defunct(hexstr=MESSAGE)), "not signed by the account"),
        ),
    ),
    Case(
        "eth_signTypedData_v4",
        "an EIP-712 signature by the account",
        lambda w: [w.address(SIGNER), TYPED],
        result(
            "data",
            holds(
                lambda w, r: _signed_by(w, r, encode_typed_data(full_message=TYPED)),
                "not signed by the account",
            ),
        ),
    ),
    Case(
        "eth_signTransaction",
        "geth's {raw, tx}",
        lambda w: [
            {
                "from": w.address(SIGNER),
                "to": w.address(4),
                "value": "0x1",
                "gas": "0x5208",
                "gasPrice": hex(2 * 10**9),
                "nonce": "0x100",
            }
        ],
        result(
            {"raw": "data", "tx": {"hash": "hash", "gasPrice": "quantity"}},
            holds(_signed_tx, "raw and tx do not match"),
        ),
    ),
    Case(
        "eth_sendTransaction",
        "a type-2 transaction keeps its fees",
        lambda w: [_tx(w, type="0x2", maxFeePerGas=hex(7 * 10**9), maxPriorityFeePerGas=hex(2 * 10**9))],
        result("hash", _keeps(type="0x2", maxFeePerGas=hex(7 * 10**9), maxPriorityFeePerGas=hex(2 * 10**9))),
    ),
]
