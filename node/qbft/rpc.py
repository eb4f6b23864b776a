"""The qbft_* JSON-RPC namespace (Besu's names and shapes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.abc import RpcNamespaceAPI
from node.errors import SERVER_ERROR, RpcError
from node.qbft.extradata import ExtraData
from node.rpc import blocks, params

if TYPE_CHECKING:
    from node.qbft.engine import QbftEngine


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

    def validators_of(header: Any) -> list[str]:
        return [_hex(v) for v in ExtraData.decode(header.extra_data).validators]

    def get_validators_by_block_number(tag: Any = "latest") -> list[str]:
        return validators_of(blocks.header(chain(), tag))

    def get_validators_by_block_hash(block_hash: Any) -> list[str]:
        return validators_of(blocks.header_by_hash(chain(), params.hash32(block_hash, "block hash")))

    def propose_validator_vote(address: Any, add: Any) -> bool:
        if not isinstance(add, bool):
            raise params.bad("second parameter must be true (add) or false (remove)")
        recipient = params.address(address)
        if add and not engine.may_add_validator(recipient):
            raise RpcError(
                SERVER_ERROR,
                f"{address} is not on the node allowlist: only an allowlisted node can become a validator",
            )
        engine.votes.propose(recipient, add)
        return True

    def discard_validator_vote(address: Any) -> bool:
        engine.votes.discard(params.address(address))
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
