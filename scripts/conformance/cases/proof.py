"""eth_getProof (EIP-1186): proofs are verified here against the block's state root with py-trie,
the trie library py-evm itself uses, so a node cannot pass with a proof that does not prove."""

from __future__ import annotations

import rlp
from eth_utils import keccak
from trie import HexaryTrie

from conformance.checks import Case, error, holds, result

NOBODY = "0x000000000000000000000000000000000000c0de"
PROOF = {
    "address": "address",
    "accountProof": ["data"],
    "balance": "quantity",
    "codeHash": "hash",
    "nonce": "quantity",
    "storageHash": "hash",
    "storageProof": [{"key": "str", "value": "quantity", "proof": ["data"]}],  # key: as geth echoes it
}


def _get(root: bytes, key: bytes, proof: list[str]) -> bytes:
    nodes = [rlp.decode(bytes.fromhex(p[2:])) for p in proof]
    return HexaryTrie.get_from_proof(root, keccak(key), nodes)


def _verifies(w, r) -> bool:
    root = bytes.fromhex(w.block(w.head)["stateRoot"][2:])
    account = rlp.decode(_get(root, bytes.fromhex(r["address"][2:]), r["accountProof"]))
    nonce, balance = (int.from_bytes(f, "big") for f in account[:2])
    if (hex(nonce), hex(balance), "0x" + account[2].hex()) != (r["nonce"], r["balance"], r["storageHash"]):
        return False
    for entry in r["storageProof"]:
        slot = int(entry["key"], 16).to_bytes(32, "big")
        raw = _get(account[2], slot, entry["proof"])
        if hex(int.from_bytes(rlp.decode(raw), "big") if raw else 0) != entry["value"]:
            return False
    return r["storageProof"][0]["value"] == "0x2a"


CASES = [
    Case(
        "eth_getProof",
        "a contract's slots prove against the state root",
        lambda w: [w.contracts["a"], ["0x0", w.slot_of_writes(w.address(0)), "0x5"], hex(w.head)],
        result(PROOF, holds(_verifies, "the proof does not verify against the block's stateRoot")),
    ),
    Case(
        "eth_getProof",
        "an account that does not exist: zero hashes",
        lambda w: [NOBODY, [], hex(w.head)],
        result(
            PROOF,
            holds(lambda w, r: r["codeHash"] == r["storageHash"] == "0x" + "00" * 32, "hashes are not zero"),
        ),
    ),
    Case(
        "eth_getProof",
        "more than 1024 keys are refused",
        lambda w: [NOBODY, ["0x0"] * 1025, "latest"],
        error(-32602, "too many storage keys requested (max 1024, got 1025)"),
    ),
]
