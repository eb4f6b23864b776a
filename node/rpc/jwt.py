"""JWT for administrative JSON-RPC, the node's side (clients issue tokens with
consortium/client/jwt.py), as geth's authenticated RPC (Engine API) and Besu's
`--engine-jwt-secret` take it: HS256 over a shared 32-byte secret kept hex in a file (mode 0600),
sent as `Authorization: Bearer <token>`; the token's `iat` must be within 60 seconds of the node's
clock either way, so a captured token is worth a minute, and `exp`, when present, must not have
passed. Nothing else in the claims is required (geth also ignores `id` and `clv`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from pathlib import Path

IAT_WINDOW = 60  # seconds either way (geth's jwtExpiryTimeout)
SECRET_BYTES = 32


class JwtError(ValueError):
    """A secret file or a token that cannot be used: why, in words."""


def load_secret(path: str | Path) -> bytes:
    """The 32-byte secret in `path` (hex, 0x optional, as geth's jwt.hex), which only its owner
    may read."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text().strip()
    except OSError as exc:
        raise JwtError(f"JWT secret file {path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise JwtError(f"JWT secret file {path} is readable by others (mode {mode:04o}): chmod 600 {path}")
    try:
        secret = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        secret = b""
    if len(secret) != SECRET_BYTES:
        raise JwtError(f"JWT secret file {path} must hold {SECRET_BYTES} bytes as hex (64 hex digits)")
    return secret


def write_secret(path: str | Path, force: bool = False) -> Path:
    """Create a fresh random secret at `path`, mode 0600 from the start (never world-readable)."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists already (use --force to replace the secret)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("0x" + os.urandom(SECRET_BYTES).hex() + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return path


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify(token: str, secret: bytes, now: float | None = None) -> dict:
    """The token's claims, or JwtError naming what is wrong with it."""
    now = time.time() if now is None else now
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("not a JWT (want header.claims.signature)")
    try:
        header, claims = (json.loads(_unb64(p)) for p in parts[:2])
        signature = _unb64(parts[2])
    except ValueError:
        raise JwtError("not a JWT (its parts are not base64url JSON)") from None
    alg = header.get("alg") if isinstance(header, dict) else None
    if alg != "HS256":
        raise JwtError(f"JWT algorithm {alg!r} refused: HS256 only")
    expected = hmac.new(secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise JwtError("JWT signature does not match this node's secret")
    if not isinstance(claims, dict):
        raise JwtError("JWT claims are not an object")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise JwtError("JWT has no issued-at (iat) claim")
    if iat < now - IAT_WINDOW:
        raise JwtError(f"stale JWT: issued {int(now - iat)} s ago (at most {IAT_WINDOW} s)")
    if iat > now + IAT_WINDOW:
        raise JwtError(f"JWT issued {int(iat - now)} s in the future (at most {IAT_WINDOW} s)")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= now:
        raise JwtError("JWT has expired (exp)")
    return claims


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (None: no such header)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise JwtError("Authorization must be 'Bearer <JWT>'")
    return token.strip()
