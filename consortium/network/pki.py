"""Node TLS certificates: self-signed (ECDSA P-256, X.509), pinned by the other nodes.

There is no consortium CA. Each organisation makes its node's certificate itself (`hubao org
init`) and publishes it in its public file; `hubao net genesis` gives every node the certificates
of all the others, and a node accepts a peer only with the very certificate pinned for that peer's
node address (`node.p2p.transport`). The p2p handshake then checks the node key's signature over
both certificates, so an identity others accept needs that organisation's node key and its TLS key,
and no key anywhere can mint one for someone else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 3650


def write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner only (mode 0600 from creation, no window)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def create_node_certificate(
    node_id: str, out_cert: Path, out_key: Path, hosts: list[str] = (), password: str | None = None
) -> str:
    """A self-signed TLS certificate (client and server) named after the node address; the key is
    written 0600, encrypted with `password` when one is given. Returns the certificate (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id.lower())])
    sans: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    encryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    Path(out_cert).parent.mkdir(parents=True, exist_ok=True)
    Path(out_cert).write_bytes(pem)
    write_private(
        Path(out_key),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption),
    )
    return pem.decode()


def fingerprint(pem: str | bytes) -> str:
    """`sha256:<hex>` of the certificate's DER bytes: what an organisation reads out to the others."""
    der = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem).public_bytes(
        serialization.Encoding.DER
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False
