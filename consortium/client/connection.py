"""One way to reach a node: web3 over HTTP that reads QBFT headers (extraData longer than 32 bytes)
and, given the node's JWT secret, signs every request for its administrative methods."""

from __future__ import annotations

import os
from pathlib import Path

import requests
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from consortium.client.jwt import authorization, read_secret

JWT_ENV = "HUBAO_JWT_SECRET"  # path of the node's JWT secret file, for tools that take no option


class JwtHTTPProvider(Web3.HTTPProvider):
    """HTTPProvider that sends `Authorization: Bearer <JWT>` issued afresh for each request (a
    token is good for a minute), and hands a refusal's JSON-RPC error to web3 instead of an
    HTTPError, so the caller reads the node's reason."""

    def __init__(self, endpoint: str, secret: bytes | None, **kwargs) -> None:
        super().__init__(endpoint, **kwargs)
        self.secret = secret

    def get_request_headers(self) -> dict[str, str]:
        headers = dict(super().get_request_headers())
        if self.secret is not None:
            headers["Authorization"] = authorization(self.secret)
        return headers

    def _make_request(self, method, request_data: bytes) -> bytes:
        try:
            return super()._make_request(method, request_data)
        except requests.HTTPError as exc:
            body = exc.response.content if exc.response is not None else b""
            if b'"error"' in body:
                return body
            raise


def load_jwt_secret(path: str | Path | None = None) -> bytes | None:
    """The secret in `path`, else in the file $HUBAO_JWT_SECRET names, else None (OSError or
    ValueError when the file is unusable)."""
    path = path or os.environ.get(JWT_ENV) or None
    return None if path is None else read_secret(path)


def connect(
    rpc: str, timeout: float = 60, cache_chain_id: bool = False, jwt_secret: str | Path | bytes | None = None
) -> Web3:
    """web3 for any of our nodes, anvil or geth; QBFT's long extraData moves to proofOfAuthorityData.
    `jwt_secret` (bytes, or a secret file; default $HUBAO_JWT_SECRET) signs requests for the
    node's administrative methods (docs/nodes.md)."""
    secret = jwt_secret if isinstance(jwt_secret, bytes) else load_jwt_secret(jwt_secret)
    provider = JwtHTTPProvider(
        rpc, secret, request_kwargs={"timeout": timeout}, cache_allowed_requests=cache_chain_id
    )
    w3 = Web3(provider)
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3
