"""The deployed suite as one object: its addresses (Deployment) and a client per contract."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from consortium.client import contracts
from consortium.client.rules import Roles, Rules
from consortium.client.tx import Transactor

# name in the deployment file -> compiled contract name
CONTRACTS = {
    "governor": "ConsortiumGovernor",
    "token": "SettlementToken",
    "membership": "Membership",
    "pool": "CostSharing",
    "claims": "Claims",
    "jury": "Jury",
}


@dataclass(frozen=True)
class Deployment:
    """What scripts/deploy.py writes: enough for any client to find and use the suite."""

    chain_id: int
    block: int
    start: int
    deployer: str
    addresses: dict[str, str]
    rules: Rules = field(default_factory=Rules)
    roles: Roles = field(default_factory=Roles)

    def to_dict(self) -> dict:
        return {
            "chain_id": self.chain_id,
            "block": self.block,
            "start": self.start,
            "deployer": self.deployer,
            "addresses": dict(self.addresses),
            "rules": self.rules.to_dict(),
            "roles": self.roles.to_dict(),
        }

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, data: dict) -> Deployment:
        missing = set(CONTRACTS) - set(data["addresses"])
        if missing:
            raise ValueError(f"deployment lacks address(es) for {', '.join(sorted(missing))}")
        return cls(
            chain_id=int(data["chain_id"]),
            block=int(data["block"]),
            start=int(data["start"]),
            deployer=data["deployer"],
            addresses=dict(data["addresses"]),
            rules=Rules.from_dict(data.get("rules", {})),
            roles=Roles.from_dict(data.get("roles", {})),
        )

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        return cls.from_dict(json.loads(Path(path).read_text()))


class Suite:
    """Clients for every contract of one deployment, signing with one key (or read-only)."""

    def __init__(self, w3: Web3, deployment: Deployment, key: str | bytes | None = None):
        self.w3 = w3
        self.deployment = deployment
        self.tx = Transactor(w3, key) if key is not None else None
        a, first = deployment.addresses, deployment.block
        self.governor = contracts.Governor(w3, a["governor"], self.tx, first)
        self.token = contracts.Token(w3, a["token"], self.tx, first)
        self.membership = contracts.Membership(w3, a["membership"], self.tx, first)
        self.pool = contracts.CostSharing(w3, a["pool"], self.tx, first)
        self.claims = contracts.Claims(w3, a["claims"], self.tx, first)
        self.jury = contracts.Jury(w3, a["jury"], self.tx, first)

    @property
    def address(self) -> str:
        if self.tx is None:
            raise RuntimeError("read-only suite client has no address")
        return self.tx.address

    def as_(self, key: str | bytes) -> Suite:
        """The same suite, signing with another key."""
        return Suite(self.w3, self.deployment, key)

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def function_names(self) -> dict[tuple[str, bytes], str]:
        """(contract address, selector) -> "contract.function" for every contract of the suite."""
        out = {}
        for name in CONTRACTS:
            bound = getattr(self, name)
            out |= {(bound.address, sel): f"{name}.{fn}" for sel, fn in bound.function_names().items()}
        return out

    def event_decoders(self) -> dict[tuple[str, bytes], object]:
        """(contract address, topic0) -> web3's decoder, for every event of the plan's contracts
        (token, membership, pool, claims, jury): to decode raw logs read in bulk."""
        out = {}
        for bound in (self.token, self.membership, self.pool, self.claims, self.jury):
            out |= {(bound.address, topic): e for topic, e in bound.event_decoders().items()}
        return out
