"""Checking an eth_getProof answer without trusting the node: its account and storage proofs walked
with py-trie (the trie library py-evm uses, not this node's prover), from the proof's nodes alone.
"""

from __future__ import annotations

import rlp
from eth_utils import keccak
from trie import HexaryTrie


def proven(root: bytes, key: bytes, proof) -> bytes:
    """The value under keccak(key) in the trie at `root`, from the proof's nodes alone."""
    nodes = [rlp.decode(bytes(p)) for p in proof]
    return HexaryTrie.get_from_proof(root, keccak(key), nodes)


def number(value) -> int:
    """web3 gives a slot's value as HexBytes, a balance as an int."""
    return value if isinstance(value, int) else int.from_bytes(bytes(value), "big")


def verify_account(root: bytes, answer) -> list:
    """The account's fields as the proof proves them; they must be the ones the node states."""
    raw = proven(root, bytes.fromhex(answer["address"][2:]), answer["accountProof"])
    nonce, balance, storage_root, code_hash = rlp.decode(raw)
    assert int.from_bytes(nonce, "big") == answer["nonce"]
    assert int.from_bytes(balance, "big") == answer["balance"]
    assert storage_root == bytes(answer["storageHash"]) and code_hash == bytes(answer["codeHash"])
    return [storage_root, code_hash]


def verify_slots(storage_root: bytes, answer) -> list[int]:
    """Each slot's value as its proof under `storage_root` proves it; it must be the one stated."""
    values = []
    for entry in answer["storageProof"]:
        raw = proven(storage_root, bytes(entry["key"]).rjust(32, b"\0"), entry["proof"])
        value = int.from_bytes(rlp.decode(raw), "big") if raw else 0
        assert value == number(entry["value"])
        values.append(value)
    return values
