"""One node's configuration file (TOML), as `hubao net genesis` writes it and `hubao node run --config`
reads it. Paths are relative to the file's folder, so a node folder can be copied to any host.

The file names the node's own secrets by the names `hubao org init` gave them (its keystore, TLS
key, JWT secret and the password file the operator creates) and holds the consortium's part: whom
to dial and the TLS certificate pinned for every node address (`[p2p.trusted]`). Its `[rpc]`
table is the organisation's own: who its JSON-RPC listener answers (docs/nodes.md).
"""

from __future__ import annotations

import dataclasses
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from consortium.evidence.quota import EvidenceLimits
from node.limits import NodeLimits, read_numbers
from node.p2p.config import P2PConfig, P2PLimits
from node.qbft.limits import QbftLimits
from node.rpc.access import DEFAULT_VHOSTS, RpcAccess
from node.rpc.jwt import load_secret
from node.rpc.listener import HttpLimits

ROLES = ("validator", "member")

# what an organisation's folder holds (`hubao org init`), as node.toml names it
NODE_KEYSTORE = "keystore/node"
ADMIN_KEYSTORE = "keystore/admin"
TLS_CERT = "tls.crt"
TLS_KEY = "tls.key"
PASSWORD_FILE = "password"
JWT_SECRET_FILE = "jwt.hex"
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


CONSORTIUM_API = ("eth", "net", "web3")  # what a consortium node serves unless its operator opens more
_LIMITS = {f.name for f in dataclasses.fields(HttpLimits)}


def bounds(cls: type, table: dict, where: str, strict: bool = False):
    """`cls` (a dataclass of numeric bounds, defaults in docs/nodes.md) with what a node.toml table
    sets (node.limits.read_numbers: the one check of every table's numbers)."""
    try:
        return cls(**read_numbers(cls, table, where, strict))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class RpcSettings:
    """One node's JSON-RPC listener: where, which namespaces (None: all the node offers), for whom,
    within which limits; from node.toml `[rpc]` and `hubao node run`'s flags."""

    host: str = "127.0.0.1"
    port: int = 8545
    api: tuple[str, ...] | None = CONSORTIUM_API
    vhosts: tuple[str, ...] = DEFAULT_VHOSTS
    cors: tuple[str, ...] = ()
    jwt_secret: Path | None = None
    revert_reason: bool = True
    limits: HttpLimits = field(default_factory=HttpLimits)

    @classmethod
    def from_toml(cls, rpc: dict, folder: Path) -> RpcSettings:
        """The `[rpc]` table (paths relative to the config's folder); missing keys take defaults."""
        known = {f.name for f in dataclasses.fields(cls)} - {"limits"} | set(_LIMITS)
        unknown = sorted(set(rpc) - known)
        if unknown:
            raise ConfigError(f"[rpc] has unknown settings: {', '.join(unknown)}")
        limits = bounds(HttpLimits, rpc, "[rpc]")
        values = {k: v for k, v in rpc.items() if k not in _LIMITS}
        for key in ("api", "vhosts", "cors"):
            if key in values:
                if not isinstance(values[key], list) or not all(isinstance(v, str) for v in values[key]):
                    raise ConfigError(f"[rpc] {key} must be a list of strings")
                values[key] = tuple(values[key])
        if "jwt_secret" in values:
            values["jwt_secret"] = folder / values["jwt_secret"]
        return cls(**values, limits=limits)

    def overridden(self, **flags) -> RpcSettings:
        """These settings with every flag that was given (not None) in place of its value."""
        limits = {k: v for k, v in flags.items() if k in _LIMITS and v is not None}
        given = {k: v for k, v in flags.items() if k not in _LIMITS and v is not None}
        return dataclasses.replace(self, **given, limits=dataclasses.replace(self.limits, **limits))

    def access(self) -> RpcAccess:
        """The listener's access settings, with the JWT secret read (JwtError when unusable)."""
        secret = None if self.jwt_secret is None else load_secret(self.jwt_secret)
        apis = None if self.api is None else frozenset(self.api)
        return RpcAccess(apis=apis, vhosts=self.vhosts, cors=self.cors, jwt_secret=secret)


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
    rpc: RpcSettings
    log_level: str = "INFO"
    limits: NodeLimits = field(default_factory=NodeLimits)  # [limits] (docs/nodes.md#limits)
    p2p_limits: P2PLimits = field(default_factory=P2PLimits)  # [p2p] bounds (docs/nodes.md)
    qbft_limits: QbftLimits = field(default_factory=QbftLimits)  # [qbft]
    evidence_limits: EvidenceLimits = field(default_factory=EvidenceLimits)  # [evidence]
    _secret: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def is_validator(self) -> bool:
        return self.role == "validator"

    @property
    def rpc_host(self) -> str:
        return self.rpc.host

    @property
    def rpc_port(self) -> int:
        return self.rpc.port

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
            limits=self.p2p_limits,
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
        rpc=RpcSettings.from_toml({**rpc, "port": int(rpc["port"])}, folder),
        limits=bounds(NodeLimits, data.get("limits", {}), f"{path}: [limits]", strict=True),
        p2p_limits=bounds(P2PLimits, p2p, f"{path}: [p2p]"),
        qbft_limits=bounds(QbftLimits, data.get("qbft", {}), f"{path}: [qbft]", strict=True),
        evidence_limits=bounds(EvidenceLimits, data.get("evidence", {}), f"{path}: [evidence]", strict=True),
    )


def node_toml(*, name: str, role: str, p2p_host: str, p2p_port: int, peers: list[str],
              trusted: dict[str, str], rpc_host: str, rpc_port: int,
              rpc_api: tuple[str, ...] = CONSORTIUM_API) -> str:  # fmt: skip
    """The config text; the same inputs give the same bytes (organisations compare them). The
    `[rpc]` table is the organisation's own to change: its listener serves `rpc_api` on `rpc_host`
    and takes the JWT signed with the secret `hubao org init` wrote."""
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
        "rpc": {
            "host": rpc_host,
            "port": rpc_port,
            "api": list(rpc_api),
            "vhosts": list(DEFAULT_VHOSTS),
            "cors": [],
            "jwt_secret": JWT_SECRET_FILE,
            "revert_reason": True,
        },
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
