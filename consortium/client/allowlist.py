"""The consortium's allowlists contract (ConsortiumAllowlist, predeployed by the genesis): its
lists, its proposals and the admins' two writes, as typed methods."""

from __future__ import annotations

from consortium.client.bound import Bound


class Allowlist(Bound):
    artifact = "ConsortiumAllowlist"

    def accounts(self) -> list[str]:
        return self.call("getAccounts")

    def nodes(self) -> list[str]:
        return self.call("getNodes")

    def admins(self) -> list[str]:
        return self.call("getAdmins")

    def proposal_count(self) -> int:
        return self.call("proposalCount")

    def proposal(self, proposal_id: int) -> tuple[int, str, bool, bool]:
        """(kind, target, add, executed)."""
        return self.call("proposals", proposal_id)

    def approvals(self, proposal_id: int) -> int:
        return self.call("approvals", proposal_id)

    def send_proposal(self, kind: int, target: str, add: bool, **kw):
        """An admin proposes a change (kind 0 account, 1 node, 2 admin); approving it too."""
        return self.send("propose", kind, target, add, **kw)

    def send_approval(self, proposal_id: int, **kw):
        return self.send("approve", proposal_id, **kw)
