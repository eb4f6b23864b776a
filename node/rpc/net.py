"""The net and web3 namespaces, as geth answers them."""

from __future__ import annotations

import platform
from importlib.metadata import version

from eth_hash.auto import keccak

from node.abc import RpcBackendAPI, RpcHandler, RpcNamespaceAPI
from node.rpc import params
from node.rpc.format import hb, hx


class NetNamespace(RpcNamespaceAPI):
    name = "net"

    def __init__(self, backend: RpcBackendAPI) -> None:
        self.backend = backend

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "net_version": lambda: str(self.backend.chain.chain_id),
            "net_listening": lambda: True,
            "net_peerCount": lambda: hx(self.backend.peer_count()),
        }


class Web3Namespace(RpcNamespaceAPI):
    name = "web3"

    def methods(self) -> dict[str, RpcHandler]:
        return {"web3_clientVersion": client_version, "web3_sha3": web3_sha3}


def client_version() -> str:
    return f"hubao/v{version('hubao')}/python{platform.python_version()}/py-evm{version('py-evm')}"


def web3_sha3(payload: str) -> str:
    return hb(keccak(params.data(payload)))
