"""One way to reach a node: web3 over HTTP that reads QBFT headers (extraData longer than 32 bytes)."""

from __future__ import annotations

from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware


def connect(rpc: str, timeout: float = 60, cache_chain_id: bool = False) -> Web3:
    """web3 for any of our nodes, anvil or geth; QBFT's long extraData moves to proofOfAuthorityData."""
    w3 = Web3(
        Web3.HTTPProvider(rpc, request_kwargs={"timeout": timeout}, cache_allowed_requests=cache_chain_id)
    )
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3
