"""Who one JSON-RPC listener answers, and what: geth's and Besu's conventions, in one place.

- `apis`: the namespaces served (`--rpc-api`, geth's `--http.api`); any other method is -32601.
- Host header (`--rpc-vhosts`, geth's `--http.vhosts`): a request naming a host that is not listed
  is refused (403), which defeats DNS rebinding. As in geth, an IP-literal Host passes (a rebinding
  page can only name a host by a name it controls), names must be listed (default `localhost`),
  `*` allows any.
- Origin (`--rpc-cors`, geth's `--http.corsdomain`): no CORS header unless the request's origin is
  listed; a request that carries an Origin that is not listed (a browser's, from another site) is
  refused (403), preflight included.
- Content type: a POST must be `application/json` (415 otherwise; geth also takes
  `application/json-rpc` and `application/jsonrequest`), so a web page cannot send a text/plain
  "simple request" that skips the browser's preflight.
- Administrative methods (`ADMIN_NAMESPACES`, `ADMIN_METHODS`) are answered, when their namespace
  is served, only on a loopback-only listener or to a request with a valid JWT (`node/rpc/jwt.py`,
  `Authorization: Bearer`); serving them elsewhere without a JWT secret is a configuration error.

"Loopback-only" means bound to 127.0.0.1, ::1 or localhost. Other 127.0.0.0/8 addresses count as
another host's address: the tests use them to stand in for other machines, and treating them as
remote can only refuse more.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass

from node.errors import INVALID_REQUEST, METHOD_NOT_FOUND, NodeError, RpcError
from node.rpc.jwt import JwtError, bearer, verify

ADMIN_NAMESPACES = frozenset(
    {"admin", "qbft", "perm", "txpool", "debug", "evm", "anvil", "hardhat", "personal"}
)
ADMIN_METHODS = frozenset({"hubao_putEvidence"})  # evidence writes; hubao_getEvidence is public
CONTENT_TYPES = frozenset({"application/json", "application/json-rpc", "application/jsonrequest"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
DEFAULT_VHOSTS = ("localhost",)
UNAUTHORIZED = -40100  # Besu's JSON-RPC code for a call that needs authentication


class AccessError(NodeError):
    """Access settings a listener cannot start with: why, in one line."""


class Refusal(Exception):
    """A request refused before any method runs: HTTP status, JSON-RPC code and message."""

    def __init__(self, status: int, code: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind


def administrative(method: str, namespace: str) -> bool:
    return namespace in ADMIN_NAMESPACES or method in ADMIN_METHODS


def is_loopback_only(host: str) -> bool:
    return host.strip("[]").lower() in LOOPBACK_HOSTS


@dataclass(frozen=True)
class RpcAccess:
    """One listener's access settings; `apis` None serves every namespace registered."""

    apis: frozenset[str] | None = None
    vhosts: tuple[str, ...] = DEFAULT_VHOSTS
    cors: tuple[str, ...] = ()
    jwt_secret: bytes | None = None


@dataclass(frozen=True)
class Grant:
    """What one request (or one WebSocket connection, from its upgrade) may call."""

    served: frozenset[str]
    admitted: bool  # may call administrative methods: a loopback-only listener or a valid JWT

    def refusal(self, method: str, namespace: str | None) -> RpcError | None:
        if namespace is None or namespace not in self.served:
            return RpcError(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")
        if not self.admitted and administrative(method, namespace):
            return RpcError(
                UNAUTHORIZED,
                f"Unauthorized: {method} needs a JWT on this listener (Authorization: Bearer <token>)",
            )
        return None


class ListenerPolicy:
    """An RpcAccess bound to the address a listener serves on and the namespaces the node offers."""

    def __init__(self, access: RpcAccess, host: str, offered: set[str]) -> None:
        self.access = access
        self.loopback = is_loopback_only(host)
        served = frozenset(offered) if access.apis is None else frozenset(access.apis)
        unknown = sorted(served - set(offered))
        if unknown:
            raise AccessError(
                f"rpc api lists {', '.join(unknown)}, which this node does not offer "
                f"(it offers {', '.join(sorted(offered))})"
            )
        admin = sorted(n for n in served if n in ADMIN_NAMESPACES)
        if admin and not self.loopback and access.jwt_secret is None:
            raise AccessError(
                f"rpc api serves {', '.join(admin)} on {host}, which is not loopback-only: "
                "administrative namespaces there need a JWT secret (--rpc-jwt-secret FILE), "
                "or listen on 127.0.0.1"
            )
        self.served = served
        self.vhosts = frozenset(v.lower().rstrip(".") for v in access.vhosts)
        self.origins = frozenset(o.lower().rstrip("/") for o in access.cors)

    def check_host(self, host_header: str | None) -> None:
        """Refuse a Host that names a host not in the allowlist (geth's virtualHostHandler)."""
        if not host_header or "*" in self.vhosts:
            return
        host = _hostname(host_header)
        try:
            ipaddress.ip_address(host)
            return
        except ValueError:
            pass
        if host not in self.vhosts:
            raise Refusal(403, INVALID_REQUEST, f"host {host!r} is not allowed (--rpc-vhosts)", "host")

    def cors_origin(self, origin: str | None) -> str | None:
        """The origin to name in Access-Control-Allow-Origin, None for a request without one;
        refuses an origin that is not allowed."""
        if origin is None:
            return None
        if "*" in self.origins or origin.lower().rstrip("/") in self.origins:
            return origin
        raise Refusal(403, INVALID_REQUEST, f"origin {origin!r} is not allowed (--rpc-cors)", "origin")

    @staticmethod
    def check_content_type(content_type: str | None) -> None:
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if kind not in CONTENT_TYPES:
            raise Refusal(
                415,
                INVALID_REQUEST,
                f"content type {kind or 'none'!r} is not accepted: POST JSON-RPC as application/json",
                "content type",
            )

    def grant(self, authorization: str | None) -> Grant:
        """What a request may call; a token that is given but not valid is refused (401), never
        taken as no token. Without a secret the header is ignored (it could grant nothing)."""
        if self.access.jwt_secret is None or not authorization:
            return Grant(self.served, self.loopback)
        try:
            verify(bearer(authorization) or "", self.access.jwt_secret)
        except JwtError as exc:
            raise Refusal(401, UNAUTHORIZED, f"Unauthorized: {exc}", "bad JWT") from None
        return Grant(self.served, True)


def _hostname(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8545
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class OncePerClient:
    """Logs a kind of refusal once per client address (bounded: the oldest are forgotten)."""

    def __init__(self, logger: logging.Logger, limit: int = 4096) -> None:
        self.logger, self.limit = logger, limit
        self._seen: OrderedDict[tuple, None] = OrderedDict()

    def first(self, *key) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.limit:
            self._seen.popitem(last=False)
        return True

    def warn(self, client: str | None, kind: str, message: str) -> None:
        if self.first(client, kind):
            self.logger.warning("refused %s from %s: %s (logged once per client)", kind, client, message)
