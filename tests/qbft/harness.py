"""In-process consortium for QBFT unit tests: real chains (LMDB), real pools, real signatures,
real engines, joined by the in-memory p2p hub (whose links tests can cut)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from eth_account import Account

from node.abc import ChainAPI, TxPoolAPI
from node.core import NodeCore
from node.genesis import Genesis
from node.p2p.memory import MemoryHub
from node.qbft.config import QbftConfig
from node.qbft.engine import QbftEngine
from node.qbft.extradata import genesis_extra_data
from node.qbft.keys import Signer
from node.qbft.rules import QbftRules
from node.timescale import ScaledClock

CHAIN_ID = 4242
FUNDED_KEY = bytes.fromhex("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63")
FUNDED = Account.from_key(FUNDED_KEY).address


class LocalNode:
    """One validator or member: the node core every node kind assembles (no JSON-RPC listener),
    a QBFT engine as its producer, and a link to the hub. `producer`/`engine` may be replaced
    before `start` (a byzantine engine, say)."""

    def __init__(
        self, datadir: Path, genesis: Genesis, key: bytes, hub: MemoryHub, config: QbftConfig
    ) -> None:
        self.datadir = str(datadir)
        self.key = key
        self.address = Signer(key).address
        self.genesis = genesis
        self.config = config
        self.hub = hub
        now = time.time()  # chain time runs 10x: whole-second timestamps at 0.2 s blocks
        self.clock = ScaledClock(timescale=10, real_epoch=now, sim_epoch=now)
        self.running = False
        self._open()

    def _open(self) -> None:
        """What a process start builds: a core on the datadir, a fresh network handle, an engine."""
        self.network = self.hub.join("0x" + self.address.hex())
        self.core = NodeCore(
            self.datadir,
            self.genesis,
            self.clock,
            rules=QbftRules(self.config.epoch_length),
            peers=self.network,
        )
        self.producer = self.engine = QbftEngine(self.network, self.key, self.config)

    @property
    def chain(self) -> ChainAPI:
        return self.core.chain

    @property
    def txpool(self) -> TxPoolAPI:
        return self.core.txpool

    async def start(self) -> None:
        await self.network.start()
        self.core.set_producer(self.producer)
        await self.core.start()
        self.running = True

    async def stop(self) -> None:
        """A crash as far as consensus can tell: the engine and the links go; disk stays."""
        self.running = False
        await self.core.stop()
        await self.network.stop()

    async def restart(self) -> None:
        self._open()
        await self.start()

    @property
    def height(self) -> int:
        return self.chain.head.block_number

    def rpc_call(self, method: str, *params: Any) -> Any:
        handler = self.core.rpc.handler(method)
        if handler is None:
            raise KeyError(f"{method} is not served")
        return handler(*params)


def keys(n: int) -> list[bytes]:
    return [bytes([i + 1]) * 32 for i in range(n)]


def make_genesis(validator_keys: list[bytes], funded: tuple[str, ...] = ()) -> Genesis:
    validators = sorted(Signer(k).address for k in validator_keys)
    alloc = {
        bytes.fromhex(a[2:]): {"balance": 10**24, "nonce": 0, "code": b"", "storage": {}}
        for a in (FUNDED, *funded)
    }
    return Genesis(
        chain_id=CHAIN_ID,
        timestamp=int(time.time()) - 10,
        extra_data=genesis_extra_data(validators),
        alloc=alloc,
    )


def transfer(nonce: int, to: str = "0x" + "11" * 20, value: int = 1, key: bytes = FUNDED_KEY) -> bytes:
    tx = {
        "type": 2,
        "chainId": CHAIN_ID,
        "nonce": nonce,
        "to": to,
        "value": value,
        "gas": 21000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


class Consortium:
    def __init__(
        self,
        tmp: Path,
        n_validators: int = 4,
        n_members: int = 0,
        funded: tuple[str, ...] = (),
        **config: Any,
    ) -> None:
        defaults = {"block_period": 0.2, "request_timeout": 1.0, "max_request_timeout": 4.0}
        self.config = QbftConfig(**{**defaults, **config})
        self.hub = MemoryHub()
        self.validator_keys = keys(n_validators)
        self.genesis = make_genesis(self.validator_keys, funded)
        all_keys = self.validator_keys + [bytes([0x80 + i]) * 32 for i in range(n_members)]
        self.nodes = [
            LocalNode(tmp / f"node{i}", self.genesis, k, self.hub, self.config)
            for i, k in enumerate(all_keys)
        ]

    async def start(self) -> None:
        for node in self.nodes:
            await node.start()

    async def stop(self) -> None:
        for node in self.nodes:
            if node.running:
                await node.stop()

    def running(self) -> list[LocalNode]:
        return [n for n in self.nodes if n.running]

    async def wait_height(
        self, height: int, nodes: list[LocalNode] | None = None, timeout: float = 20.0
    ) -> None:
        nodes = nodes or self.running()
        deadline = time.monotonic() + timeout
        while min(n.height for n in nodes) < height:
            if time.monotonic() > deadline:
                raise AssertionError(f"heights {[n.height for n in nodes]} did not reach {height}")
            await asyncio.sleep(0.05)

    def assert_same_chain(self, nodes: list[LocalNode] | None = None) -> None:
        nodes = nodes or self.running()
        top = min(n.height for n in nodes)
        for number in range(top + 1):
            hashes = {n.chain.block_hash(n.chain.get_header_by_number(number)) for n in nodes}
            assert len(hashes) == 1, f"fork at height {number}"
