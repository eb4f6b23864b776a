"""The qbft_* JSON-RPC namespace (Besu's names and shapes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.abc import RpcNamespaceAPI
from node.errors import INVALID_PARAMS, SERVER_ERROR, RpcError
from node.qbft.extradata import ExtraData

if TYPE_CHECKING:
    from node.qbft.engine import QbftEngine


def _address(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 42:
        raise RpcError(INVALID_PARAMS, "invalid address: expected 0x and 40 hex digits")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, "invalid address: not hex") from exc


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


class QbftNamespace(RpcNamespaceAPI):
    """What the engine offers the node's assembler; the chain is the engine's once it has started."""

    name = "qbft"

    def __init__(self, engine: QbftEngine) -> None:
        self.engine = engine

    def methods(self) -> dict[str, Any]:
        return _methods(self.engine)


def _methods(engine: QbftEngine) -> dict[str, Any]:
    def chain() -> Any:
        return engine.chain

    def block_number(tag: Any) -> int:
        head = chain().head.block_number
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return head
        if tag == "earliest":
            return 0
        if isinstance(tag, str) and tag.startswith("0x"):
            try:
                return int(tag, 16)
            except ValueError:
                pass
        raise RpcError(INVALID_PARAMS, f"invalid block number {tag!r}")

    def validators_of(header: Any) -> list[str]:
        return [_hex(v) for v in ExtraData.decode(header.extra_data).validators]

    def get_validators_by_block_number(tag: Any = "latest") -> list[str]:
        header = chain().get_header_by_number(block_number(tag))
        if header is None:
            raise RpcError(SERVER_ERROR, "header not found")
        return validators_of(header)

    def get_validators_by_block_hash(block_hash: Any) -> list[str]:
        if not isinstance(block_hash, str) or len(block_hash) != 66:
            raise RpcError(INVALID_PARAMS, "invalid block hash")
        header = chain().get_header_by_hash(bytes.fromhex(block_hash[2:]))
        if header is None:
            raise RpcError(SERVER_ERROR, "header not found")
        return validators_of(header)

    def propose_validator_vote(address: Any, add: Any) -> bool:
        if not isinstance(add, bool):
            raise RpcError(INVALID_PARAMS, "second parameter must be true (add) or false (remove)")
        recipient = _address(address)
        if add and not engine.may_add_validator(recipient):
            raise RpcError(
                SERVER_ERROR,
                f"{address} is not on the node allowlist: only an allowlisted node can become a validator",
            )
        engine.votes.propose(recipient, add)
        return True

    def discard_validator_vote(address: Any) -> bool:
        engine.votes.discard(_address(address))
        return True

    def get_pending_votes() -> dict[str, bool]:
        return {_hex(a): add for a, add in engine.votes.pending().items()}

    def get_status() -> dict[str, Any]:
        return engine.status()

    return {
        "qbft_getValidatorsByBlockNumber": get_validators_by_block_number,
        "qbft_getValidatorsByBlockHash": get_validators_by_block_hash,
        "qbft_proposeValidatorVote": propose_validator_vote,
        "qbft_discardValidatorVote": discard_validator_vote,
        "qbft_getPendingVotes": get_pending_votes,
        "qbft_getStatus": get_status,
    }
