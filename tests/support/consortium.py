"""A running consortium of real `hubao` node processes, every p2p link through its own proxy.

    net = ProxiedNet.create(root, validators=4, members=1)   # hubao net init + proxies + net up
    net.wait_height(5); net.stop("validator-3"); net.start("validator-3"); net.assert_one_chain()
    net.split(["validator-0", "validator-1"]); net.heal()
    net.down()

Used by tests/qbft/test_network.py and scripts/soak_consortium.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import tomli_w
from eth_account import Account
from eth_utils import to_checksum_address

from consortium.network.layout import free_base_port, load_network
from consortium.network.processes import pid_of, rpc, start_node, stop_node
from node.qbft.extradata import ExtraData
from node.qbft.keys import recover
from node.qbft.validators import quorum
from tests.support.processes import HUBAO
from tests.support.proxy import TcpProxy

# a tiny counter: any call with calldata increments slot 0, a call without returns it
RUNTIME = "3615600f57600054600101600055005b60005460005260206000f3"
INIT = "601b80600b6000396000f3" + RUNTIME
OUTSIDER_KEY = "0x" + "5a" * 32
OUTSIDER = Account.from_key(OUTSIDER_KEY).address


def hubao(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*HUBAO, *args], capture_output=True, text=True, timeout=timeout)


class ProxiedNet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = load_network(root)
        self.by_name = {e.name: e for e in self.entries}
        self.accounts = json.loads((root / "accounts.json").read_text())
        self.chain_id = self.accounts["chainId"]
        self.proxies: dict[tuple[str, str], TcpProxy] = {}
        self.nonces: dict[str, int] = {}

    def url(self, name: str) -> str:
        return self.by_name[name].rpc_url

    def call(self, name: str, method: str, *params, timeout: float = 10.0):
        return rpc(self.url(name), method, list(params), timeout=timeout)

    def height(self, name: str) -> int | None:
        try:
            return int(self.call(name, "eth_blockNumber", timeout=3), 16)
        except Exception:
            return None

    def names(self, role: str | None = None) -> list[str]:
        return [e.name for e in self.entries if role is None or e.role == role]

    def running(self) -> list[str]:
        return [n for n in self.names() if pid_of(self.root / n)]

    def wait(self, predicate, timeout: float = 60.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"{what} not reached in {timeout}s: heights {self.heights()}")

    def heights(self, names: list[str] | None = None) -> dict[str, int | None]:
        return {n: self.height(n) for n in names or self.names()}

    def wait_height(self, height: int, names: list[str] | None = None, timeout: float = 60.0) -> None:
        names = names or self.running()
        self.wait(lambda: all((self.height(n) or -1) >= height for n in names), timeout, f"height {height}")

    def top(self, names: list[str] | None = None) -> int:
        return max(h for h in self.heights(names or self.running()).values() if h is not None)

    def assert_one_chain(self, names: list[str] | None = None) -> int:
        """Every node has the same block at every height (and each block has a quorum of seals)."""
        names = names or self.names()
        low = min(self.height(n) for n in names)
        for number in range(0, low + 1):
            blocks = [self.call(n, "eth_getBlockByNumber", hex(number), False) for n in names]
            assert len({b["hash"] for b in blocks}) == 1, f"two blocks at height {number}: {blocks}"
            if number:
                self.assert_sealed(blocks[0])
        return low

    def assert_sealed(self, block: dict) -> None:
        number = int(block["number"], 16)
        extra = ExtraData.decode(bytes.fromhex(block["extraData"][2:]))
        validators = {"0x" + v.hex() for v in extra.validators}
        parent_validators = self.call(self.names()[0], "qbft_getValidatorsByBlockNumber", hex(number))
        assert validators == set(parent_validators)
        digest = seal_digest_of(block)
        authors = {"0x" + recover(digest, s).hex() for s in extra.seals}
        assert len(authors) == len(extra.seals) >= quorum(len(validators)) and authors <= validators

    def stop(self, name: str) -> None:
        stop_node(self.root, self.by_name[name])

    def kill9(self, name: str) -> None:
        pid = pid_of(self.root / name)
        os.kill(pid, signal.SIGKILL)
        stop_node(self.root, self.by_name[name])  # reaps it, removes the pid file

    def start(self, name: str) -> None:
        start_node(self.root, self.by_name[name])

    def heal(self) -> None:
        for proxy in self.proxies.values():
            proxy.set_mode("pass")

    def send_tx(
        self, via: str, key: str, to: str | None, value: int = 0, data: str = "0x", gas: int = 21000
    ) -> str:
        sender = Account.from_key(key).address
        if sender not in self.nonces:
            self.nonces[sender] = int(self.call(via, "eth_getTransactionCount", sender, "pending"), 16)
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self.nonces[sender],
            "value": value,
            "data": data,
            "gas": gas,
            "maxFeePerGas": 20 * 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        if to:
            tx["to"] = to_checksum_address(to)
        raw = Account.sign_transaction(tx, key).raw_transaction
        tx_hash = self.call(via, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
        self.nonces[sender] += 1
        return tx_hash

    def receipt(self, via: str, tx_hash: str, timeout: float = 30.0) -> dict:
        return self.wait(
            lambda: self.call(via, "eth_getTransactionReceipt", tx_hash), timeout, f"receipt {tx_hash}"
        )

    def split(self, side: list[str]) -> None:
        """Cut (reset) every link between `side` and the other nodes."""
        for (x, y), proxy in self.proxies.items():
            if (x in side) != (y in side):
                proxy.set_mode("reset")

    @classmethod
    def create(cls, root: Path, validators: int = 4, members: int = 1, *init_args: str) -> ProxiedNet:
        base = free_base_port(validators + members)
        init = hubao(
            "net", "init", "--validators", str(validators), "--members", str(members), "--dir", str(root),
            "--base-port", str(base), *init_args,
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(init.stderr)
        net = cls(root)
        for a in net.entries:  # node a dials node b at proxy (a, b)
            path = root / a.name / "node.toml"
            config = tomllib.loads(path.read_text())
            peers = []
            for b in net.entries:
                if b.name != a.name:
                    proxy = TcpProxy("127.0.0.1", b.p2p_port).start()
                    net.proxies[(a.name, b.name)] = proxy
                    peers.append(proxy.address)
            config["p2p"]["peers"] = peers
            path.write_text(tomli_w.dumps(config))
        up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90", timeout=150)
        if up.returncode != 0:
            net.down()
            raise RuntimeError(up.stderr + (root / "validator-0" / "node.log").read_text()[-3000:])
        return net

    def down(self) -> None:
        hubao("net", "down", "--dir", str(self.root), "--json")
        for proxy in self.proxies.values():
            proxy.stop()


FIELDS = {  # py-evm header field <- JSON-RPC block field
    "parent_hash": "parentHash", "uncles_hash": "sha3Uncles", "coinbase": "miner", "state_root": "stateRoot",
    "transaction_root": "transactionsRoot", "receipt_root": "receiptsRoot", "bloom": "logsBloom",
    "difficulty": "difficulty", "block_number": "number", "gas_limit": "gasLimit", "gas_used": "gasUsed",
    "timestamp": "timestamp", "extra_data": "extraData", "mix_hash": "mixHash", "nonce": "nonce",
    "base_fee_per_gas": "baseFeePerGas", "withdrawals_root": "withdrawalsRoot",
    "blob_gas_used": "blobGasUsed",
    "excess_blob_gas": "excessBlobGas", "parent_beacon_block_root": "parentBeaconBlockRoot",
    "requests_hash": "requestsHash",
}  # fmt: skip
INTS = {"bloom", "difficulty", "block_number", "gas_limit", "gas_used", "timestamp", "base_fee_per_gas",
        "blob_gas_used", "excess_blob_gas"}  # fmt: skip


def seal_digest_of(block: dict) -> bytes:
    """Rebuild the header from its JSON-RPC fields (checked against the block hash); its seal digest."""
    from node.qbft.extradata import block_hash, seal_digest
    from node.vm import HeaderClass

    fields = {
        name: int(block[key], 16) if name in INTS else bytes.fromhex(block[key][2:])
        for name, key in FIELDS.items()
    }
    header = HeaderClass(**fields)
    assert "0x" + block_hash(header).hex() == block["hash"]
    return seal_digest(header)
