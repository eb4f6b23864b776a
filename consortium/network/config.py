"""One node's configuration file (TOML), as `hubao net init` writes it and `hubao node run --config`
reads it. Paths are relative to the file's folder, so a node folder can be copied to any host."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

ROLES = ("validator", "member")


@dataclass
class NodeConfig:
    name: str
    role: str  # validator | member
    folder: Path
    datadir: Path
    node_key: Path
    genesis: Path
    p2p_host: str
    p2p_port: int
    peers: list[str]
    ca_cert: Path
    tls_cert: Path
    tls_key: Path
    rpc_host: str
    rpc_port: int
    log_level: str = "INFO"

    @property
    def is_validator(self) -> bool:
        return self.role == "validator"

    def secret(self) -> bytes:
        return bytes.fromhex(self.node_key.read_text().strip().removeprefix("0x"))


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path).resolve()
    data = tomllib.loads(path.read_text())
    folder = path.parent
    node, p2p, rpc = data["node"], data["p2p"], data["rpc"]
    if node.get("role") not in ROLES:
        raise ValueError(f"{path}: node.role must be one of {ROLES}")
    return NodeConfig(
        name=node["name"],
        role=node["role"],
        folder=folder,
        datadir=folder / node.get("datadir", "data"),
        node_key=folder / node.get("key", "nodekey"),
        genesis=folder / node.get("genesis", "genesis.json"),
        log_level=node.get("log_level", "INFO"),
        p2p_host=p2p.get("host", "0.0.0.0"),
        p2p_port=int(p2p["port"]),
        peers=list(p2p.get("peers", [])),
        ca_cert=folder / p2p.get("ca", "ca.crt"),
        tls_cert=folder / p2p.get("cert", "tls.crt"),
        tls_key=folder / p2p.get("key", "tls.key"),
        rpc_host=rpc.get("host", "127.0.0.1"),
        rpc_port=int(rpc["port"]),
    )


def write_config(path: Path, *, name: str, role: str, p2p_host: str, p2p_port: int, peers: list[str],
                 rpc_host: str, rpc_port: int) -> None:  # fmt: skip
    doc = {
        "node": {"name": name, "role": role, "datadir": "data", "key": "nodekey", "genesis": "genesis.json"},
        "p2p": {
            "host": p2p_host,
            "port": p2p_port,
            "peers": peers,
            "ca": "ca.crt",
            "cert": "tls.crt",
            "key": "tls.key",
        },
        "rpc": {"host": rpc_host, "port": rpc_port},
    }
    Path(path).write_text(tomli_w.dumps(doc))
