"""One node's configuration file (TOML), as `hubao net genesis` writes it and `hubao node run --config`
reads it. Paths are relative to the file's folder, so a node folder can be copied to any host.

The file names the node's own secrets by the names `hubao org init` gave them (its keystore, TLS
key and the password file the operator creates) and holds the consortium's part: whom to dial and
the TLS certificate pinned for every node address (`[p2p.trusted]`).
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from node.limits import NodeLimits
from node.p2p.transport import P2PConfig

ROLES = ("validator", "member")

# what an organisation's folder holds (`hubao org init`), as node.toml names it
NODE_KEYSTORE = "keystore/node"
ADMIN_KEYSTORE = "keystore/admin"
TLS_CERT = "tls.crt"
TLS_KEY = "tls.key"
PASSWORD_FILE = "password"
GENESIS_FILE = "genesis.json"
CONFIG_FILE = "node.toml"


class ConfigError(ValueError):
    """A node config, or a file it names, that the node cannot start with: why, in one line."""


def read_password_file(path: Path) -> str:
    """The password in `path`, which only its owner may read (as ssh insists for its keys)."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise ConfigError(
            f"password file {path} does not exist: create it with the keystore's password (mode 0600)"
        ) from None
    if mode & 0o077:
        raise ConfigError(f"password file {path} is readable by others (mode {mode:04o}): chmod 600 {path}")
    password = path.read_text().rstrip("\r\n")
    if not password:
        raise ConfigError(f"password file {path} is empty")
    return password


@dataclass
class NodeConfig:
    name: str
    role: str  # validator | member
    folder: Path
    datadir: Path
    keystore: Path
    password_file: Path
    genesis: Path
    p2p_host: str
    p2p_port: int
    peers: list[str]
    trusted: dict[str, str]  # node address -> TLS certificate (PEM) pinned for it
    tls_cert: Path
    tls_key: Path
    rpc_host: str
    rpc_port: int
    log_level: str = "INFO"
    limits: NodeLimits = field(default_factory=NodeLimits)  # [limits] (docs/nodes.md#limits)
    _secret: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def is_validator(self) -> bool:
        return self.role == "validator"

    def password(self) -> str:
        return read_password_file(self.password_file)

    def secret(self) -> bytes:
        """The node key, unlocked from its keystore with the password file (no prompt: unattended);
        unlocked once (scrypt takes a second)."""
        from consortium.wallet.keystore import Keystore, KeystoreError

        if self._secret is None:
            try:
                self._secret = Keystore(self.keystore).unlock(None, self.password())[1]
            except KeystoreError as exc:
                raise ConfigError(f"node key in {self.keystore}: {exc}") from None
        return self._secret

    def p2p_config(self, chain_id: int) -> P2PConfig:
        return P2PConfig(
            host=self.p2p_host,
            port=self.p2p_port,
            peers=self.peers,
            trusted=self.trusted,
            cert=self.tls_cert,
            key=self.tls_key,
            chain_id=chain_id,
            key_password=self.password(),
        )


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path).resolve()
    data = tomllib.loads(path.read_text())
    folder = path.parent
    node, p2p, rpc = data["node"], data["p2p"], data["rpc"]
    if node.get("role") not in ROLES:
        raise ValueError(f"{path}: node.role must be one of {ROLES}")
    trusted = p2p.get("trusted", {})
    if not isinstance(trusted, dict) or not all(isinstance(v, str) for v in trusted.values()):
        raise ValueError(f"{path}: p2p.trusted must map node addresses to PEM certificates")
    return NodeConfig(
        name=node["name"],
        role=node["role"],
        folder=folder,
        datadir=folder / node.get("datadir", "data"),
        keystore=folder / node.get("keystore", NODE_KEYSTORE),
        password_file=folder / node.get("password_file", PASSWORD_FILE),
        genesis=folder / node.get("genesis", GENESIS_FILE),
        log_level=node.get("log_level", "INFO"),
        p2p_host=p2p.get("host", "127.0.0.1"),
        p2p_port=int(p2p["port"]),
        peers=list(p2p.get("peers", [])),
        trusted={k.lower(): v for k, v in trusted.items()},
        tls_cert=folder / p2p.get("cert", TLS_CERT),
        tls_key=folder / p2p.get("key", TLS_KEY),
        rpc_host=rpc.get("host", "127.0.0.1"),
        rpc_port=int(rpc["port"]),
        limits=NodeLimits.from_mapping(data.get("limits", {}), f"{path}: limits"),
    )


def node_toml(*, name: str, role: str, p2p_host: str, p2p_port: int, peers: list[str],
              trusted: dict[str, str], rpc_host: str, rpc_port: int) -> str:  # fmt: skip
    """The config text; the same inputs give the same bytes (organisations compare them)."""
    doc = {
        "node": {
            "name": name,
            "role": role,
            "datadir": "data",
            "keystore": NODE_KEYSTORE,
            "password_file": PASSWORD_FILE,
            "genesis": GENESIS_FILE,
        },
        "p2p": {
            "host": p2p_host,
            "port": p2p_port,
            "peers": peers,
            "cert": TLS_CERT,
            "key": TLS_KEY,
            "trusted": dict(sorted(trusted.items())),
        },
        "rpc": {"host": rpc_host, "port": rpc_port},
    }
    return tomli_w.dumps(doc, multiline_strings=True)


def trust_peer(path: Path, node: str, certificate: str, address: str) -> None:
    """Pin `certificate` for `node` and dial it at `address` (a node the consortium voted in after
    genesis); the node reads it at its next start."""
    path = Path(path)
    doc = tomllib.loads(path.read_text())
    p2p = doc.setdefault("p2p", {})
    p2p.setdefault("trusted", {})[node.lower()] = certificate
    peers = p2p.setdefault("peers", [])
    if address not in peers:
        peers.append(address)
    path.write_text(tomli_w.dumps(doc, multiline_strings=True))
