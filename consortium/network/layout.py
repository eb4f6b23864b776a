"""`hubao net init`: everything a consortium network needs, one folder per node.

DIR/
  network.json            index of nodes (name, role, node id, p2p and rpc addresses)
  genesis.json            Besu-style QBFT genesis (also copied into every node folder)
  accounts.json           0600: deployer, operator, organisation admins and user keys (all funded
                          and on the account allowlist) for scripts/deploy.py and the simulator
  keys/deployer.key keys/operator.key   0600: the same two keys alone (`deploy.py --key-file`)
  ca/ca.crt ca/ca.key     the consortium CA (the key stays here, never in a node folder)
  validator-0/ ... member-0/ ...
    node.toml nodekey(0600) tls.crt tls.key(0600) ca.crt genesis.json admin.key(0600)
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from coincurve import PrivateKey

from consortium.network.config import write_config
from consortium.network.genesis import DEFAULT_BALANCE, GenesisSpec, QbftSettings, build_genesis
from consortium.network.pki import create_ca, issue_node_cert, write_private
from node.p2p.identity import node_address

DEFAULT_CHAIN_ID = 8282
DEFAULT_BASE_PORT = 30300
RPC_OFFSET = 100


@dataclass
class NodeEntry:
    name: str
    role: str
    node_id: str
    host: str
    p2p_port: int
    rpc_port: int

    @property
    def folder(self) -> str:
        return self.name

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc_port}"


def _new_key() -> tuple[bytes, str]:
    secret = os.urandom(32)
    PrivateKey(secret)  # validates range
    return secret, node_address(secret)


def init_network(
    directory: str | Path,
    validators: int,
    members: int = 0,
    base_port: int = DEFAULT_BASE_PORT,
    hosts: list[str] | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    timescale: float = 1.0,
    users: int = 4,
    qbft: QbftSettings | None = None,
    force: bool = False,
    extra_funded: dict[str, int] | None = None,
    movable_clock: bool = False,
) -> list[NodeEntry]:
    """Write the network; `extra_funded` (address -> wei) are funded and allowlisted too (benchmarks).
    `movable_clock`: predeploy ConsortiumClock with the operator account as its timekeeper."""
    from consortium.compiler import compile_contracts

    if validators < 1:
        raise ValueError("at least one validator")
    root = Path(directory)
    if (root / "network.json").exists() and not force:
        raise FileExistsError(f"{root} already holds a network (use --force to overwrite)")
    root.mkdir(parents=True, exist_ok=True)
    count = validators + members
    hosts = hosts or ["127.0.0.1"]
    entries, secrets = [], []
    for i in range(count):
        role, n = ("validator", i) if i < validators else ("member", i - validators)
        secret, node_id = _new_key()
        secrets.append(secret)
        host = hosts[i] if len(hosts) > 1 else hosts[0]
        entries.append(
            NodeEntry(f"{role}-{n}", role, node_id, host, base_port + i, base_port + RPC_OFFSET + i)
        )

    # accounts: one admin per organisation (= per node), a deployer, an operator, some users
    accounts = {"deployer": _account(), "operator": _account()}
    admins = [_account() for _ in entries]
    users_list = [_account() for _ in range(users)]
    funded = {
        a["address"]: DEFAULT_BALANCE
        for a in [accounts["deployer"], accounts["operator"], *admins, *users_list]
    }
    funded.update(extra_funded or {})
    spec = GenesisSpec(
        chain_id=chain_id,
        validators=[e.node_id for e in entries if e.role == "validator"],
        nodes=[e.node_id for e in entries],
        admins=[a["address"] for a in admins],
        funded=funded,
        qbft=qbft or QbftSettings(),
        timescale=timescale,
        timekeeper=accounts["operator"]["address"] if movable_clock else None,
    )
    compiled = compile_contracts()
    genesis = build_genesis(
        spec, compiled["ConsortiumAllowlist"]["deployed"], compiled["ConsortiumClock"]["deployed"]
    )
    genesis_text = json.dumps(genesis, indent=2) + "\n"
    (root / "genesis.json").write_text(genesis_text)

    ca_cert, ca_key = create_ca(root / "ca")
    for entry, secret, admin in zip(entries, secrets, admins, strict=True):
        folder = root / entry.folder
        folder.mkdir(parents=True, exist_ok=True)
        write_private(folder / "nodekey", secret.hex().encode() + b"\n")
        write_private(folder / "admin.key", admin["privateKey"].encode() + b"\n")
        issue_node_cert(
            ca_cert, ca_key, entry.node_id, folder / "tls.crt", folder / "tls.key", hosts=[entry.host]
        )
        shutil.copyfile(ca_cert, folder / "ca.crt")
        (folder / "genesis.json").write_text(genesis_text)
        peers = [f"{o.host}:{o.p2p_port}" for o in entries if o is not entry]
        write_config(
            folder / "node.toml",
            name=entry.name,
            role=entry.role,
            p2p_host="0.0.0.0" if len(hosts) > 1 else entry.host,
            p2p_port=entry.p2p_port,
            peers=peers,
            rpc_host="0.0.0.0" if len(hosts) > 1 else entry.host,
            rpc_port=entry.rpc_port,
        )
    book = {
        "chainId": chain_id,
        "allowlist": genesis["config"]["hubao"]["permissioning"]["contract"],
        **({"clock": genesis["config"]["hubao"]["clock"]["contract"]} if movable_clock else {}),
        **accounts,
        "admins": admins,
        "users": users_list,
    }
    write_private(root / "accounts.json", (json.dumps(book, indent=2) + "\n").encode())
    for role in ("deployer", "operator"):  # for `scripts/deploy.py --key-file` and operator tools
        write_private(root / "keys" / f"{role}.key", accounts[role]["privateKey"].encode() + b"\n")
    (root / "network.json").write_text(
        json.dumps({"chainId": chain_id, "nodes": [e.__dict__ for e in entries]}, indent=2) + "\n"
    )
    return entries


def _account() -> dict:
    secret, address = _new_key()
    from eth_utils import to_checksum_address

    return {"address": to_checksum_address(address), "privateKey": "0x" + secret.hex()}


def load_network(directory: str | Path) -> list[NodeEntry]:
    data = json.loads((Path(directory) / "network.json").read_text())
    return [NodeEntry(**n) for n in data["nodes"]]


def free_base_port(nodes: int, host: str = "127.0.0.1", low: int = 20000, high: int = 40000) -> int:
    """A base port whose p2p and JSON-RPC ranges are free on `host` right now (tests, benchmarks)."""
    import random
    import socket

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return True
            except OSError:
                return False

    for _ in range(200):
        base = random.randrange(low, high)
        if all(free(base + i) and free(base + RPC_OFFSET + i) for i in range(nodes)):
            return base
    raise RuntimeError("no free port range")
