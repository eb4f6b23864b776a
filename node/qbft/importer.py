"""Executing and committing blocks (Besu's QbftBlockImporter and the execution half of its
ProposalValidator).

Three ways a block reaches the chain, each checked before anything is written:
- a proposal we are asked to prepare: the allowlist and full execution, nothing committed;
- the block our height manager saw a quorum seal: committed (executed already as a proposal);
- a committed block from a peer (NEW_BLOCK, sync): the commit seals against the validator set
  at its height first (cheap, and a forgery costs the peer), then the allowlist, then execution.
The allowlist is checked on import too (Besu skips it there): a byzantine majority cannot make us
accept a transaction from an account the consortium has not admitted. In a running node the
execution runs on the execution thread (node/offloop.py: `pre_execute`, `import_off_loop`), the
checks and the commit on the loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from node.abc import ChainAPI
from node.errors import InvalidBlock
from node.qbft.executed import ExecutedBlocks
from node.qbft.extradata import block_hash
from node.qbft.rules import QbftRules
from node.qbft.validation import InvalidMessage, check_besu_header, check_vote_allowed, first_forbidden_sender

log = logging.getLogger("node.qbft")


class BlockImporter:
    def __init__(
        self, chain: ChainAPI, rules: QbftRules, executed: ExecutedBlocks, stats: dict, min_spacing: int = 1
    ) -> None:
        self.chain = chain
        self.rules = rules
        self.executed = executed
        self.stats = stats
        self.min_spacing = min_spacing
        self.node_allowed: Callable[[bytes, Any], bool] | None = None  # (address, parent header)

    def _forbidden(self, block: Any, parent: Any) -> Any | None:
        allow = self.chain.account_filter
        if allow is None:
            return None
        return first_forbidden_sender(block, lambda sender: allow.is_allowed(sender, self.chain, parent))

    def check_vote(self, header: Any, parent: Any) -> None:
        """Besu's header rules and, with a node allowlist, the vote guard (raises InvalidMessage)."""
        check_besu_header(header, parent, self.min_spacing)
        if self.node_allowed is not None:
            allowed = self.node_allowed
            check_vote_allowed(header, lambda address: allowed(address, parent))

    def execute_proposal(self, block: Any) -> None:
        """Check a proposed block by executing it on top of the head (raises InvalidMessage);
        nothing to do when it was executed already (`pre_execute`)."""
        digest = self._to_execute(block)
        if digest is not None:
            started = time.perf_counter()
            self._keep(digest, block, self._outcome(block), started)

    async def pre_execute(self, block: Any) -> None:
        """`execute_proposal` with the execution on the execution thread, the loop free meanwhile
        (the caller holds the execution lock); the outcome is kept for `execute_proposal`."""
        digest = self._to_execute(block)
        if digest is not None:
            started = time.perf_counter()
            expected = self.executed.seconds_for(block.transactions)
            outcome = await self.chain.execution.run(self._outcome, block, expected=expected)
            self._keep(digest, block, outcome, started)

    def _outcome(self, block: Any) -> Any:
        """The block's receipts on top of the head, or the InvalidBlock that says why not."""
        try:
            return self.chain.validate_block(block)
        except InvalidBlock as exc:
            return exc

    def _to_execute(self, block: Any) -> bytes | None:
        """The block's hash if it still has to be executed; a failure found before is raised again."""
        digest = block_hash(block.header)
        failure = self.executed.failure(digest)
        if failure is not None:
            raise InvalidMessage(failure)
        if self.executed.receipts(digest) is not None:
            return None
        try:
            self.check_vote(block.header, self.chain.head)
            tx = self._forbidden(block, self.chain.head)
            if tx is not None:
                raise InvalidMessage(f"transaction 0x{tx.hash.hex()} from a sender not on the allowlist")
        except InvalidMessage as exc:
            self.executed.fail(digest, str(exc))
            raise
        return digest

    def _keep(self, digest: bytes, block: Any, outcome: Any, started: float) -> None:
        """Keep a proposal's receipts, or why it is invalid (raised as InvalidMessage)."""
        if isinstance(outcome, InvalidBlock):
            reason = f"proposed block is invalid: {outcome}"
            self.executed.fail(digest, reason)
            raise InvalidMessage(reason) from outcome
        self.executed.learn(time.perf_counter() - started, block)
        self.executed.remember(digest, outcome)

    def commit_sealed(self, sealed_block: Any) -> bool:
        """Commit the block a quorum sealed; False when it is not (or no longer) ours to commit."""
        number = sealed_block.header.block_number
        if number != self.chain.head.block_number + 1:
            return False  # sync imported this height meanwhile (it is final: the same block)
        try:
            self.chain.commit_block(sealed_block, self.executed.receipts(block_hash(sealed_block.header)))
        except Exception:
            log.exception("committing block #%d failed", number)
            return False
        self.stats["committed"] += 1
        return True

    def import_block(self, block: Any) -> None:
        """Import a committed block from a peer: seals first, then permissioning, then execution
        (on the caller's thread: `hubao node import`)."""
        if self._to_import(block):
            receipts = self.executed.receipts(block_hash(block.header))  # executed as a proposal
            self._commit_import(block, receipts if receipts is not None else self.chain.validate_block(block))

    async def import_off_loop(self, block: Any) -> None:
        """`import_block` with the execution on the execution thread (the caller holds the lock)."""
        if self._to_import(block):
            receipts = self.executed.receipts(block_hash(block.header))
            if receipts is None:
                expected = self.executed.seconds_for(block.transactions)
                receipts = await self.chain.execution.run(self.chain.validate_block, block, expected=expected)
            self._commit_import(block, receipts)

    def _to_import(self, block: Any) -> bool:
        """True when the block is the head's child with a quorum's seals, allowed votes and senders;
        False when we have it already (raises InvalidBlock otherwise)."""
        header = block.header
        head = self.chain.head
        if header.block_number <= head.block_number:
            ours = self.chain.get_header_by_number(header.block_number)
            if ours is not None and self.chain.block_hash(ours) != block_hash(header):
                log.critical("peer block #%d differs from our final block", header.block_number)
                raise InvalidBlock("conflicts with a final block")
            return False
        if header.block_number != head.block_number + 1:
            raise InvalidBlock(f"block #{header.block_number} does not follow head #{head.block_number}")
        self.rules.verify_seals(header)
        try:
            self.check_vote(header, head)
        except InvalidMessage as exc:
            raise InvalidBlock(str(exc)) from exc
        tx = self._forbidden(block, head)
        if tx is not None:
            raise InvalidBlock(f"transaction 0x{tx.hash.hex()} from a sender not on the allowlist")
        return True

    def _commit_import(self, block: Any, receipts: tuple) -> None:
        self.chain.commit_block(block, receipts)
        self.stats["imported"] += 1


def importer_for(chain: ChainAPI, min_spacing: int = 1) -> BlockImporter:
    """An importer for a chain created with QbftRules, outside a running engine (`hubao node
    import`): the same checks as sync's."""
    rules = chain.rules
    if not isinstance(rules, QbftRules):
        raise TypeError("the chain must be created with node.qbft.rules.QbftRules")
    rules.bind(chain)
    stats = {"committed": 0, "imported": 0}
    return BlockImporter(chain, rules, ExecutedBlocks(), stats, min_spacing)
