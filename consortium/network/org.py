"""`hubao org init`: one organisation's keys and its public file, made on its own machine.

DIR/
  keystore/node/UTC--…   the node key (validator key when it validates), Web3 Secret Storage
  keystore/admin/UTC--…  the organisation admin's key (its vote on the allowlists), same format
  tls.crt tls.key        the node's self-signed TLS certificate and its key (0600, encrypted)
  jwt.hex                the node's JWT secret (0600): the organisation's own tools sign their
                         administrative JSON-RPC calls with it (`--jwt-secret`)
  public.json            what the organisation hands to the others: name, role, node address,
                         admin address, p2p and JSON-RPC host:port, the TLS certificate, and the
                         node key's and admin key's signatures over all of it

All three secrets are encrypted with one password; `node.toml` names the file the operator keeps
it in (`password`, mode 0600), so the node starts unattended. Nothing here is ever sent anywhere:
`hubao net genesis` needs the public files only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from coincurve import PrivateKey, PublicKey
from eth_account import Account
from eth_utils import is_address, keccak, to_checksum_address

from consortium.network import pki
from consortium.network.config import ADMIN_KEYSTORE, JWT_SECRET_FILE, NODE_KEYSTORE, ROLES, TLS_CERT, TLS_KEY
from consortium.wallet.keystore import Keystore
from node.p2p.identity import address_of_public, node_address
from node.rpc.jwt import write_secret

PUBLIC_FILE = "public.json"
DOMAIN = b"hubao-org/1"
FORMAT = 1
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class CeremonyError(ValueError):
    """A public file, or a set of them, that cannot make a network: why, naming the file."""


@dataclass(frozen=True)
class OrgPublic:
    """One organisation's public file."""

    name: str
    role: str
    node: str  # node address, lower case
    admin: str  # admin account, checksummed
    p2p: str  # host:port its node listens on for the other nodes
    rpc: str  # host:port of its node's JSON-RPC
    certificate: str  # its node's TLS certificate (PEM), pinned by every other node
    node_signature: str = ""
    admin_signature: str = ""

    @property
    def tls_fingerprint(self) -> str:
        return pki.fingerprint(self.certificate)

    def statement(self) -> dict:
        return {
            "name": self.name,
            "role": self.role,
            "node": self.node,
            "admin": self.admin,
            "p2p": self.p2p,
            "rpc": self.rpc,
            "tlsFingerprint": self.tls_fingerprint,
        }

    def digest(self) -> bytes:
        """What both keys sign, and what the organisation reads out to the others (`org_id`)."""
        return keccak(DOMAIN + json.dumps(self.statement(), sort_keys=True, separators=(",", ":")).encode())

    @property
    def org_id(self) -> str:
        return "0x" + self.digest().hex()

    def host_port(self, which: str) -> tuple[str, int]:
        """("127.0.0.2", 30300) of `p2p` or `rpc`."""
        host, _, port = getattr(self, which).rpartition(":")
        return host, int(port)

    def to_json(self) -> str:
        body = {"format": FORMAT, **self.statement(), "tlsCertificate": self.certificate,
                "nodeSignature": self.node_signature, "adminSignature": self.admin_signature}  # fmt: skip
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def load(cls, path: str | Path) -> OrgPublic:
        """Read and check a public file: its fields, its certificate, and both signatures."""
        path = Path(path)
        try:
            body = json.loads(path.read_text())
            org = cls(
                name=body["name"],
                role=body["role"],
                node=body["node"].lower(),
                admin=to_checksum_address(body["admin"]),
                p2p=body["p2p"],
                rpc=body["rpc"],
                certificate=body["tlsCertificate"],
                node_signature=body["nodeSignature"],
                admin_signature=body["adminSignature"],
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CeremonyError(f"{path}: not an organisation's public file ({exc})") from None
        problems = org.problems(body)
        if problems:
            raise CeremonyError(f"{path}: {'; '.join(problems)}")
        return org

    def problems(self, body: dict) -> list[str]:
        out = [] if body.get("format") == FORMAT else [f"unknown format {body.get('format')!r}"]
        out += field_problems(self.name, self.role, self.p2p, self.rpc)
        if not is_address(self.node):
            out.append("node is not an address")
        try:
            if body.get("tlsFingerprint") != self.tls_fingerprint:
                out.append("tlsFingerprint is not the certificate's")
        except ValueError:
            return [*out, "tlsCertificate is not a PEM certificate"]
        for label, signature, signer in (
            ("node", self.node_signature, self.node),
            ("admin", self.admin_signature, self.admin),
        ):
            if _recover(signature, self.digest()) != signer.lower():
                out.append(f"the {label} key's signature does not match (the file was changed)")
        return out


def field_problems(name: str, role: str, *endpoints: str) -> list[str]:
    out = []
    if not _NAME.match(name):
        out.append(f"name {name!r} must be lower-case letters, digits and dashes")
    if role not in ROLES:
        out.append(f"role must be one of {', '.join(ROLES)}")
    for endpoint in endpoints:
        host, _, port = endpoint.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            out.append(f"{endpoint!r} is not host:port")
    return out


def _sign(secret: bytes, digest: bytes) -> str:
    return "0x" + PrivateKey(secret).sign_recoverable(digest, hasher=None).hex()


def _recover(signature: str, digest: bytes) -> str | None:
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        return address_of_public(PublicKey.from_signature_and_message(raw, digest, hasher=None))
    except Exception:
        return None


def init_org(directory: str | Path, name: str, host: str, p2p_port: int, rpc_port: int, role: str,
             password: str, light: bool = False, force: bool = False,
             rpc_host: str = "127.0.0.1") -> OrgPublic:  # fmt: skip
    """Create the organisation's keys and write its public file; `light`: cheap scrypt, test keys.
    `host` is where the other nodes reach this one; its JSON-RPC stays on `rpc_host` (this machine
    by default) unless the organisation opens it."""
    folder = Path(directory)
    if (folder / PUBLIC_FILE).exists() and not force:
        raise FileExistsError(f"{folder} already holds an organisation (use --force to replace its keys)")
    p2p, rpc = f"{host}:{p2p_port}", f"{rpc_host}:{rpc_port}"
    problems = field_problems(name, role, p2p, rpc)
    if problems:
        raise CeremonyError("; ".join(problems))
    if not password:
        raise CeremonyError("refusing to protect the organisation's keys with an empty password")
    folder.mkdir(parents=True, exist_ok=True)
    for keys in (NODE_KEYSTORE, ADMIN_KEYSTORE):
        shutil.rmtree(folder / keys, ignore_errors=True)
    node_secret, admin = os.urandom(32), Account.create()
    PrivateKey(node_secret)  # in range
    node_id = node_address(node_secret)
    Keystore(folder / NODE_KEYSTORE).save(node_secret, password, light)
    Keystore(folder / ADMIN_KEYSTORE).save(bytes(admin.key), password, light)
    write_secret(folder / JWT_SECRET_FILE, force=True)
    certificate = pki.create_node_certificate(
        node_id, folder / TLS_CERT, folder / TLS_KEY, hosts=[host], password=password
    )
    unsigned = OrgPublic(name, role, node_id, admin.address, p2p, rpc, certificate)
    digest = unsigned.digest()
    public = OrgPublic(**{**unsigned.__dict__, "node_signature": _sign(node_secret, digest),
                          "admin_signature": _sign(bytes(admin.key), digest)})  # fmt: skip
    (folder / PUBLIC_FILE).write_text(public.to_json())
    return public
