"""`hubao net genesis`: a network from the organisations' public files, and nothing else.

Whoever coordinates runs it; every organisation can rerun it on the same public files and the same
settings and must get the same bytes, so each checks the genesis (and its own node config) before
it starts a node. Organisations are put in a canonical order (validators first, then by name) so
the order the files are given in changes nothing, and the genesis time is an input, not the clock.

OUT/
  genesis.json            the chain's genesis (Besu-style QBFT; allowlists of the organisations'
                          nodes and admins predeployed)
  network.json            public index: chain id, every node (name, role, node id, addresses) and
                          every organisation's id, admin and TLS fingerprint
  <name>/node.toml        each organisation's node config (copy it into the organisation's folder);
                          its [rpc] table serves eth,net,web3 on the address in its public file,
                          and is the organisation's own to open further (docs/nodes.md)
  <name>/genesis.json     the same genesis, beside it
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from consortium.network.config import CONFIG_FILE, CONSORTIUM_API, GENESIS_FILE, node_toml
from consortium.network.genesis import GenesisSpec, QbftSettings, build_genesis
from consortium.network.org import CeremonyError, OrgPublic

GENESIS_INDEX = "network.json"


@dataclass
class NetworkSpec:
    """Everything besides the public files that decides the genesis; publish it with them."""

    chain_id: int
    genesis_time: int  # wall time (UNIX seconds) at which the chain's clock starts
    qbft: QbftSettings = field(default_factory=QbftSettings)
    timescale: float = 1.0
    accounts: dict[str, int] = field(default_factory=dict)  # extra allowlisted accounts -> wei
    timekeeper: str | None = None  # may move the clock (ConsortiumClock); None: no movable clock


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def canonical(orgs: list[OrgPublic]) -> list[OrgPublic]:
    """Validators first, then members, each by name (validator-2 before validator-10); refuses two
    organisations that share a name, node, admin or p2p address."""
    for label, key in (("name", "name"), ("node", "node"), ("admin", "admin"), ("p2p address", "p2p")):
        seen: dict[str, str] = {}
        for org in orgs:
            value = getattr(org, key).lower()
            if value in seen:
                raise CeremonyError(f"{seen[value]} and {org.name} have the same {label} {value}")
            seen[value] = org.name
    if not any(o.role == "validator" for o in orgs):
        raise CeremonyError("no organisation runs a validator: the chain could not make a block")
    return sorted(orgs, key=lambda o: (o.role != "validator", _natural(o.name)))


def load_publics(paths: list[Path]) -> list[OrgPublic]:
    if not paths:
        raise CeremonyError("give the organisations' public files")
    return canonical([OrgPublic.load(p) for p in paths])


def assemble(
    orgs: list[OrgPublic], spec: NetworkSpec, rpc_api: tuple[str, ...] = CONSORTIUM_API
) -> dict[str, bytes]:
    """Every output file, by its path under OUT: the same inputs give the same bytes. Every node
    config serves `rpc_api` (a test network opens more: `hubao net init`)."""
    from consortium.compiler import compile_contracts

    orgs = canonical(orgs)
    genesis_spec = GenesisSpec(
        chain_id=spec.chain_id,
        validators=[o.node for o in orgs if o.role == "validator"],
        nodes=[o.node for o in orgs],
        admins=[o.admin for o in orgs],
        funded={a: spec.accounts[a] for a in sorted(spec.accounts, key=str.lower)},
        qbft=spec.qbft,
        timescale=spec.timescale,
        sim_epoch=spec.genesis_time,
        real_epoch=spec.genesis_time,
        timekeeper=spec.timekeeper,
    )
    compiled = compile_contracts()
    genesis = build_genesis(
        genesis_spec, compiled["ConsortiumAllowlist"]["deployed"], compiled["ConsortiumClock"]["deployed"]
    )
    genesis_bytes = (json.dumps(genesis, indent=2) + "\n").encode()
    trusted = {o.node: o.certificate for o in orgs}
    files = {GENESIS_FILE: genesis_bytes, GENESIS_INDEX: _index(orgs, spec, genesis_bytes)}
    for org in orgs:
        p2p_host, p2p_port = org.host_port("p2p")
        rpc_host, rpc_port = org.host_port("rpc")
        config = node_toml(
            name=org.name,
            role=org.role,
            p2p_host=p2p_host,
            p2p_port=p2p_port,
            peers=[o.p2p for o in orgs if o is not org],
            trusted=trusted,
            rpc_host=rpc_host,
            rpc_port=rpc_port,
            rpc_api=rpc_api,
        )
        files[f"{org.name}/{CONFIG_FILE}"] = config.encode()
        files[f"{org.name}/{GENESIS_FILE}"] = genesis_bytes
    return files


def _index(orgs: list[OrgPublic], spec: NetworkSpec, genesis_bytes: bytes) -> bytes:
    nodes = []
    for o in orgs:
        host, p2p_port = o.host_port("p2p")
        rpc_host, rpc_port = o.host_port("rpc")
        nodes.append({"name": o.name, "role": o.role, "node_id": o.node, "host": host,
                      "p2p_port": p2p_port, "rpc_host": rpc_host, "rpc_port": rpc_port})  # fmt: skip
    index = {
        "chainId": spec.chain_id,
        "genesisSha256": genesis_sha256(genesis_bytes),
        "nodes": nodes,
        "organisations": [
            {"name": o.name, "orgId": o.org_id, "admin": o.admin, "tlsFingerprint": o.tls_fingerprint}
            for o in orgs
        ],
    }
    return (json.dumps(index, indent=2) + "\n").encode()


def genesis_sha256(genesis_bytes: bytes) -> str:
    """What organisations compare (`sha256sum genesis.json`)."""
    return hashlib.sha256(genesis_bytes).hexdigest()


def write_outputs(out: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = Path(out) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
