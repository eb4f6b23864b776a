"""The client's side of a node's JWT (node/rpc/jwt.py checks it): read the node's secret file and
issue a fresh HS256 token per request, `{"iat": now}`, which the node takes for 60 seconds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path


def read_secret(path: str | Path) -> bytes:
    """The 32-byte secret in a JWT secret file (hex, 0x optional, as geth's jwt.hex)."""
    text = Path(path).read_text().strip().removeprefix("0x")
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise ValueError(f"{path} is not a JWT secret file (64 hex digits)")
    return secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(obj: dict) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def token(secret: bytes, now: float | None = None, **claims) -> str:
    """A token issued `now` (default: this moment), for `Authorization: Bearer <token>`."""
    body = {"iat": int(time.time() if now is None else now), **claims}
    signing_input = f"{_b64(_json({'alg': 'HS256', 'typ': 'JWT'}))}.{_b64(_json(body))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def authorization(secret: bytes) -> str:
    """The header value for one request."""
    return f"Bearer {token(secret)}"
