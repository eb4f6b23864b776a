"""Services offer named JSON-RPC namespaces, the assembler registers them, and a server serves only
the namespaces it is told to (the seam per-listener `--rpc-api` builds on). In process, over HTTP."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from consortium.evidence.service import EvidenceService
from consortium.nodes.dev import DevNode
from node.abc import RpcNamespaceAPI
from node.clock import DevClock
from node.core import NodeCore
from node.genesis import dev_genesis
from node.permissioning import Allowlist
from node.rpc.server import RpcServer
from node.sealer import DevSealer

# init code that returns block.timestamp: TIMESTAMP PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
RETURN_TIMESTAMP = "0x4260005260206000f3"


def dev_core(datadir, apis=None) -> NodeCore:
    """A dev node's parts plus the perm service, on a server that serves `apis`."""
    clock = DevClock()
    core = NodeCore(datadir, dev_genesis(2, timestamp=int(time.time())), clock, apis=apis)
    core.set_producer(DevSealer(clock))
    for service in (EvidenceService(datadir, core.chain), Allowlist(core.chain)):
        core.add_service(service)
    return core


async def post(port: int, method: str, *params) -> dict:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/", json=body) as resp,
    ):
        return await resp.json()


def test_a_node_serving_eth_net_web3_answers_nothing_else(tmp_path):
    async def scenario():
        core = dev_core(tmp_path / "data", apis={"eth", "net", "web3"})
        port = await core.listen("127.0.0.1", 0)
        await core.start()
        try:
            assert (await post(port, "eth_chainId"))["result"] == "0x539"
            assert (await post(port, "net_version"))["result"] == "1337"
            assert (await post(port, "net_peerCount"))["result"] == "0x0"
            assert (await post(port, "web3_clientVersion"))["result"].startswith("hubao/")
            for method in (
                "evm_mine",
                "anvil_mine",
                "txpool_status",
                "perm_getAdmins",
                "hubao_getEvidence",
                "debug_traceCall",
            ):
                reply = await post(port, method)
                assert reply["error"] == {
                    "code": -32601,
                    "message": f"the method {method} does not exist/is not available",
                }
            reply = await post(port, "qbft_x")
            assert reply["error"]["message"] == "the method qbft_x does not exist/is not available"
            # registered all the same, by namespace: a listener with other settings could serve them
            every = {"eth", "net", "web3", "txpool", "evm", "anvil", "hardhat", "hubao", "perm", "debug"}
            assert set(core.rpc.namespaces) == every
            assert "eth_subscribe" in core.rpc.namespaces["eth"]
        finally:
            await core.stop()

    asyncio.run(scenario())


def test_every_namespace_is_served_by_default(tmp_path):
    async def scenario():
        core = dev_core(tmp_path / "data")
        port = await core.listen("127.0.0.1", 0)
        await core.start()
        try:
            assert (await post(port, "evm_mine"))["result"] == "0x0"
            assert (await post(port, "eth_blockNumber"))["result"] == "0x1"
            assert (await post(port, "txpool_status"))["result"] == {"pending": "0x0", "queued": "0x0"}
            assert (await post(port, "perm_getAdmins"))["result"] == []  # no allowlist on a dev chain
            assert (await post(port, "hubao_getEvidence", "0x" + "00" * 32))["result"] == []
        finally:
            await core.stop()

    asyncio.run(scenario())


class Named(RpcNamespaceAPI):
    def __init__(self, name: str, methods: dict) -> None:
        self.name, self._methods = name, methods

    def methods(self) -> dict:
        return self._methods


def test_a_namespace_owns_its_prefix_and_a_method_has_one_owner():
    server = RpcServer(apis={"qbft"})
    with pytest.raises(ValueError, match="qbft_getStatus is not in the perm namespace"):
        server.add_namespace(Named("perm", {"qbft_getStatus": lambda: 1}))
    server.add_namespace(Named("qbft", {"qbft_getStatus": lambda: 1}))
    with pytest.raises(ValueError, match="qbft_getStatus is registered already"):
        server.add_namespace(Named("qbft", {"qbft_getStatus": lambda: 2}))
    server.add_namespace(Named("admin", {"admin_peers": lambda: []}))
    assert server.handler("qbft_getStatus")() == 1
    assert server.handler("admin_peers") is None  # registered, not served
    assert server.namespaces == {"qbft": {"qbft_getStatus"}, "admin": {"admin_peers"}}


def test_calls_run_at_the_node_clock(tmp_path):
    """eth_call and eth_estimateGas run in the head's child as the node's clock would stamp it: on a
    dev chain, evm_increaseTime moves what a call sees before the next block is sealed."""

    async def scenario():
        node = DevNode(tmp_path / "data", accounts=2)
        await node.core.start()
        rpc = node.core.rpc.handler
        try:
            seen = int(await rpc("eth_call")({"data": RETURN_TIMESTAMP}), 16)
            assert abs(seen - time.time()) < 5
            rpc("evm_increaseTime")(3600)
            seen = int(await rpc("eth_call")({"data": RETURN_TIMESTAMP}), 16)
            assert abs(seen - (time.time() + 3600)) < 5
            rpc("evm_mine")()
            assert abs(node.core.chain.head.timestamp - seen) < 5
        finally:
            await node.stop()

    asyncio.run(scenario())
