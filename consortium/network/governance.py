"""Changing the allowlists: an organisation admin proposes, the others approve, a strict majority
of the current admins applies the change (ConsortiumAllowlist). Used by `hubao net allowlist`."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from consortium.client.allowlist import Allowlist
from consortium.client.tx import Transactor
from node.permissioning import ALLOWLIST_ADDRESS

KINDS = {"account": 0, "node": 1, "admin": 2}
KIND_NAMES = {v: k for k, v in KINDS.items()}


@dataclass(frozen=True)
class Outcome:
    proposal: int
    approvals: int
    admins: int
    executed: bool


class AllowlistClient(Allowlist):
    def __init__(self, w3: Web3, key: str | None = None, address: str = ALLOWLIST_ADDRESS) -> None:
        super().__init__(w3, address, Transactor(w3, key) if key else None)

    def lists(self) -> dict[str, list[str]]:
        return {
            "accounts": self.accounts(),
            "nodes": self.nodes(),
            "admins": self.admins(),
        }

    def pending(self) -> list[dict]:
        """Proposals not yet applied, with their approvals from the current admins."""
        admins = len(self.admins())
        out = []
        for pid in range(1, self.proposal_count() + 1):
            kind, target, add, executed = self.proposal(pid)
            if not executed:
                out.append({"id": pid, "kind": KIND_NAMES[kind], "target": target, "add": add,
                            "approvals": self.approvals(pid), "admins": admins})  # fmt: skip
        return out

    def _outcome(self, receipt) -> Outcome:
        approved = self.in_receipt(receipt, "Approved")[-1].args
        executed = bool(self.in_receipt(receipt, "Executed"))
        return Outcome(approved.id, approved.approvals, approved.admins, executed)

    def propose(self, kind: str, target: str, add: bool) -> Outcome:
        return self._outcome(self.send_proposal(KINDS[kind], Web3.to_checksum_address(target), add))

    def approve(self, proposal: int) -> Outcome:
        return self._outcome(self.send_approval(proposal))
