"""eth_getProof (EIP-1186): Merkle proofs of an account and its storage slots against a block's
state root, read from the stored state trie, so anyone can check a member's on-chain record
without trusting this node.

A proof is the RLP of every trie node on the key's path that is stored by its hash (the root and
every node of 32 bytes or more); smaller nodes sit inside their parent's RLP. That is geth's
trie.Prove, and what verifiers expect. Answers and error texts follow geth's GetProof: a missing
account has zero codeHash and storageHash, a key shorter than 32 bytes comes back as a quantity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import rlp
from eth.abc import BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak

from node.errors import INVALID_PARAMS, SERVER_ERROR, RpcError
from node.rpc import params

ReadNode = Callable[[bytes], bytes | None]  # a state trie node by its hash
MAX_KEYS = 1024  # geth's maxGetProofKeys
ZERO32 = b"\0" * 32


def _nibbles(key: bytes) -> list[int]:
    return [n for byte in key for n in (byte >> 4, byte & 0x0F)]


def _path(encoded: bytes) -> tuple[list[int], bool]:
    """A leaf's or extension's hex-prefix path: (nibbles, is_leaf)."""
    nibbles = _nibbles(encoded)
    flag = nibbles[0]
    return nibbles[2 - (flag & 1) :], bool(flag & 2)


def prove(read_node: ReadNode, root: bytes, key: bytes) -> tuple[list[bytes], bytes | None]:
    """The proof of `key` (already hashed) in the trie at `root`, and its value (None if absent)."""
    proof: list[bytes] = []
    if root == BLANK_ROOT_HASH:
        return proof, None
    node: Any = root
    rest = _nibbles(key)
    while True:
        if isinstance(node, bytes):
            if node == b"":
                return proof, None
            encoded = read_node(node)
            if encoded is None:
                raise RpcError(SERVER_ERROR, f"missing trie node 0x{node.hex()}")
            proof.append(encoded)
            node = rlp.decode(encoded)
        if len(node) == 17:
            if not rest:
                return proof, node[16] or None
            node, rest = node[rest[0]], rest[1:]
            continue
        path, is_leaf = _path(node[0])
        if rest[: len(path)] != path:
            return proof, None
        rest = rest[len(path) :]
        if is_leaf:
            return proof, (node[1] if not rest else None)
        node = node[1]


def _storage_key(value: Any) -> tuple[bytes, str]:
    """geth's decodeStorageKey: lenient hex (0x optional, odd length padded), at most 32 bytes;
    returns the slot and the key as geth echoes it."""
    if not isinstance(value, str):
        raise RpcError(INVALID_PARAMS, "invalid argument 1: storage keys must be hex strings")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) % 2:
        text = "0" + text
    if len(text) > 64:
        raise RpcError(INVALID_PARAMS, f'storage key too long (want at most 32 bytes): "{value}"')
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise RpcError(INVALID_PARAMS, f'invalid hex in storage key: "{value}"') from None
    slot = raw.rjust(32, b"\0")
    echoed = "0x" + slot.hex() if len(raw) == 32 else hex(int.from_bytes(slot, "big"))
    return slot, echoed


def _hex(nodes: list[bytes]) -> list[str]:
    return ["0x" + n.hex() for n in nodes]


def get_proof(read_node: ReadNode, header: BlockHeaderAPI, address: Any, storage_keys: Any) -> dict:
    """geth's eth_getProof answer for `address` and `storage_keys` at `header`'s state."""
    account_address = params.address(address, "address")
    if not isinstance(storage_keys, list):
        raise RpcError(INVALID_PARAMS, "invalid argument 1: storage keys must be an array of hex strings")
    if len(storage_keys) > MAX_KEYS:
        count = len(storage_keys)
        raise RpcError(INVALID_PARAMS, f"too many storage keys requested (max {MAX_KEYS}, got {count})")
    keys = [_storage_key(k) for k in storage_keys]
    account_proof, leaf = prove(read_node, header.state_root, keccak(account_address))
    if leaf is None:
        nonce, balance, storage_root, code_hash = 0, 0, ZERO32, ZERO32
    else:
        fields = rlp.decode(leaf)
        nonce, balance = (int.from_bytes(f, "big") for f in fields[:2])
        storage_root, code_hash = fields[2], fields[3]
    storage = []
    for slot, echoed in keys:
        if storage_root in (ZERO32, BLANK_ROOT_HASH):
            storage.append({"key": echoed, "value": "0x0", "proof": []})
            continue
        proof, value = prove(read_node, storage_root, keccak(slot))
        number = int.from_bytes(rlp.decode(value), "big") if value else 0
        storage.append({"key": echoed, "value": hex(number), "proof": _hex(proof)})
    return {
        "address": "0x" + account_address.hex(),
        "accountProof": _hex(account_proof),
        "balance": hex(balance),
        "codeHash": "0x" + code_hash.hex(),
        "nonce": hex(nonce),
        "storageHash": "0x" + storage_root.hex(),
        "storageProof": storage,
    }
