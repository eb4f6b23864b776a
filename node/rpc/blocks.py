"""Which block a parameter names: the one reading of tags, numbers and hashes every namespace shares.

`params.block_id` parses the value (a tag, a number, a hash, an EIP-1898 object); these resolve it
against the chain. This node has no pending, safe or finalized block apart from its head (QBFT
blocks are final when sealed), so those tags all name the head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.errors import SERVER_ERROR, RpcError
from node.rpc import params

if TYPE_CHECKING:
    from eth.abc import BlockHeaderAPI

    from node.abc import ChainAPI


def number(chain: ChainAPI, ident: str | int | bytes) -> int:
    """The block number a parsed `block_id` names; a number past the head stays as it is."""
    if isinstance(ident, str):
        return 0 if ident == "earliest" else chain.head.block_number
    if isinstance(ident, bytes):
        return header_by_hash(chain, ident).block_number
    return ident


def header_by_hash(chain: ChainAPI, block_hash: bytes) -> BlockHeaderAPI:
    found = chain.get_header_by_hash(block_hash)
    if found is None:
        raise RpcError(SERVER_ERROR, "header not found")
    return found


def header(chain: ChainAPI, value: Any, required: bool = True) -> BlockHeaderAPI | None:
    """The header a block parameter names; "header not found" (or None when not `required`)."""
    ident = params.block_id(value)
    if isinstance(ident, str):
        return chain.genesis if ident == "earliest" else chain.head
    found = chain.get_header_by_hash(ident) if isinstance(ident, bytes) else chain.get_header_by_number(ident)
    if found is None and required:
        raise RpcError(SERVER_ERROR, "header not found")
    return found
