"""The simulator's view of a running consortium: the network's accounts and nodes (sending goes
through the client's pipeline, consortium/client/tx.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NetworkAccounts:
    """The test-network keys `hubao net init` wrote (accounts.json): deployer, operator, one plan
    staff account per organisation (`admins`: the suite's organisations and staff roles; not the
    allowlist admins, whose keys stay in each organisation's folder), and users (funded and on the
    account allowlist since genesis) who become the simulated members."""

    deployer: str
    operator: str
    admins: list[str]
    users: list[str]

    @classmethod
    def load(cls, path: str | Path) -> NetworkAccounts:
        data = json.loads(Path(path).read_text())
        return cls(
            deployer=data["deployer"]["privateKey"],
            operator=data["operator"]["privateKey"],
            admins=[a["privateKey"] for a in data["staff"]],
            users=[u["privateKey"] for u in data["users"]],
        )


def network_nodes(network_dir: str | Path) -> int:
    """How many nodes the network has (each executes every block)."""
    return len(json.loads((Path(network_dir) / "network.json").read_text())["nodes"])


def member_node(network_dir: str | Path) -> dict:
    """The network's first member node (an organisation's own node), else validator-0."""
    nodes = json.loads((Path(network_dir) / "network.json").read_text())["nodes"]
    return next((n for n in nodes if n["role"] == "member"), nodes[0])


def member_rpc(network_dir: str | Path) -> str:
    chosen = member_node(network_dir)
    return f"http://{chosen.get('rpc_host') or chosen['host']}:{chosen['rpc_port']}"


def member_dir(network_dir: str | Path) -> Path:
    """That node's folder (its node.toml, genesis.json and datadir `data`)."""
    return Path(network_dir) / member_node(network_dir)["name"]
