"""The network under test: real `hubao node run` processes on loopback, every p2p link through its
own TCP proxy (harness/proxy.py) so that links can be cut and healed.

    net = Network.up(root, NetworkSpec(members=0))   # init, proxies, start, wait for block 1
    net.wait_height(5); net.kill("validator-3"); net.start("validator-3"); net.assert_one_chain()
    net.split(["validator-0", "validator-1"]); net.heal(); net.byzantine("validator-2", ["bad_vote"])
    net.down()

It is written and started with the application's own pieces (`init_network`, `start_node`,
`stop_node`, `wait_for_blocks`: what `hubao net init/up/down` use), and adds only what a fault
scenario needs: kill -9, SIGSTOP/SIGCONT, splits, a byzantine stand-in, and a few RPC helpers.
`Network(root)` takes a network another way started (`hubao net init/up` in tests/hostile), with
its nodes dialling each other directly. The e2e runner, tests/hostile, tests/qbft and tests/besu
all drive their process networks through this one class.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from eth_account import Account
from eth_utils import to_checksum_address

from consortium.network.genesis import QbftSettings
from consortium.network.layout import free_base_port, init_network, load_network
from consortium.network.processes import pid_of, rpc, start_node, stop_node, stop_nodes, wait_for_blocks
from harness.polling import until
from harness.proxy import TcpProxy
from harness.seals import assert_sealed

ROOT = Path(__file__).resolve().parents[1]
# a funded account that is not on the allowlist: every node must refuse it, a byzantine one uses it
OUTSIDER_KEY = "0x" + "5a" * 32
OUTSIDER = Account.from_key(OUTSIDER_KEY).address


@dataclass(frozen=True)
class NetworkSpec:
    """What a manifest's [network] table may set; scenarios with equal specs share one network."""

    validators: int = 4
    members: int = 1
    block_period: float = 1
    empty_block_period: int = 1
    request_timeout: int = 2


class Network:
    def __init__(self, root: Path) -> None:
        """The network `hubao net init` wrote in `root` (its nodes' folders, accounts.json)."""
        self.root = root
        self.proxies: dict[tuple[str, str], TcpProxy] = {}
        self.nonces: dict[str, int] = {}
        self.villains: dict[str, subprocess.Popen] = {}
        self.paused: set[str] = set()
        self.entries = load_network(root)
        self.by_name = {e.name: e for e in self.entries}
        self.accounts = json.loads((root / "accounts.json").read_text())
        self.chain_id = self.accounts["chainId"]

    @classmethod
    def init(cls, root: Path, spec: NetworkSpec) -> Network:
        """Write the network `spec` describes, every link through its proxy; nothing started."""
        base = free_base_port(spec.validators + spec.members)
        qbft = QbftSettings(
            blockperiodseconds=spec.block_period,
            requesttimeoutseconds=spec.request_timeout,
            emptyblockperiodseconds=spec.empty_block_period,
        )
        init_network(root, spec.validators, spec.members, base_port=base, qbft=qbft)
        net = cls(root)
        net._wire_proxies()
        return net

    @classmethod
    def up(cls, root: Path, spec: NetworkSpec) -> Network:
        net = cls.init(root, spec)
        try:
            for entry in net.entries:
                start_node(root, entry)
            wait_for_blocks(root, net.entries, height=1, timeout=90)
        except BaseException:
            net.down()
            raise
        return net

    def _wire_proxies(self) -> None:
        """Node a dials node b at proxy (a, b), so the link a -> b can be cut on its own."""
        for a in self.entries:
            path = self.root / a.folder / "node.toml"
            config = tomllib.loads(path.read_text())
            peers = []
            for b in self.entries:
                if b is not a:
                    proxy = TcpProxy("127.0.0.1", b.p2p_port).start()
                    self.proxies[(a.name, b.name)] = proxy
                    peers.append(proxy.address)
            config["p2p"]["peers"] = peers
            path.write_text(tomli_w.dumps(config))

    def down(self) -> None:
        for name in list(self.paused):
            self.resume(name)
        for name in list(self.villains):
            self._end_villain(name)
        stop_nodes(self.root, self.entries)
        for proxy in self.proxies.values():
            proxy.stop()

    # -- who is who ----------------------------------------------------------------------------
    def names(self, role: str | None = None) -> list[str]:
        return [e.name for e in self.entries if role is None or e.role == role]

    def running(self) -> list[str]:
        """Nodes that are up and not paused (a byzantine stand-in counts as running)."""
        return [n for n in self.names() if self.pid(n) and n not in self.paused]

    def pid(self, name: str) -> int | None:
        """The node's process, or its byzantine stand-in's."""
        if name in self.villains:
            return self.villains[name].pid if self.villains[name].poll() is None else None
        return pid_of(self.root / self.by_name[name].folder)

    def node_id(self, name: str) -> str:
        return self.by_name[name].node_id.lower()

    def key(self, account: str) -> str:
        """A private key by account name: deployer, operator, user-N, or outsider."""
        if account == "outsider":
            return OUTSIDER_KEY
        if account.startswith("user-"):
            return self.accounts["users"][int(account.removeprefix("user-"))]["privateKey"]
        return self.accounts[account]["privateKey"]

    def address(self, name: str) -> str:
        """A node's id or an account's address, for manifests that name either."""
        if name in self.by_name:
            return self.node_id(name)
        return Account.from_key(self.key(name)).address

    def log_path(self, name: str) -> Path:
        return self.root / self.by_name[name].folder / "node.log"

    def url(self, name: str) -> str:
        return self.by_name[name].rpc_url

    # -- JSON-RPC ------------------------------------------------------------------------------
    def call(self, name: str, method: str, *params, timeout: float = 10.0):
        return rpc(self.url(name), method, list(params), timeout=timeout)

    def batch(self, name: str, calls: list[tuple[str, list]], timeout: float = 30.0) -> list:
        """Many calls in one HTTP request (JSON-RPC batch); results in order."""
        if not calls:
            return []  # an empty batch is an invalid request
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        request = urllib.request.Request(
            self.url(name), json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            replies = {r["id"]: r for r in json.loads(response.read())}
        for reply in replies.values():
            if "error" in reply:
                raise RuntimeError(f"{calls[reply['id']][0]}: {reply['error'].get('message')}")
        return [replies[i]["result"] for i in range(len(calls))]

    def height(self, name: str) -> int | None:
        try:
            return int(self.call(name, "eth_blockNumber", timeout=3), 16)
        except Exception:
            return None

    def heights(self, names: list[str] | None = None) -> dict[str, int | None]:
        return {n: self.height(n) for n in names or self.names()}

    def top(self, names: list[str] | None = None) -> int:
        return max((h for h in self.heights(names or self.running()).values() if h is not None), default=-1)

    def wait(self, predicate, timeout: float, what: str):
        """Poll `predicate` until it returns something true; fail naming `what` and the heights."""
        return until(predicate, timeout, what, detail=lambda: f"heights {self.heights()}")

    def wait_height(self, height: int, names: list[str] | None = None, timeout: float = 60.0) -> None:
        names = names or self.running()
        self.wait(lambda: all((self.height(n) or -1) >= height for n in names), timeout, f"height {height}")

    def assert_one_chain(self, names: list[str] | None = None, sealed: set[str] | None = None) -> int:
        """Every node of `names` (default: all) has the same block at every height up to the lowest
        head, each with a quorum of valid seals; that height. `sealed`: hashes already verified
        (skipped, and the ones verified now are added)."""
        names = names or self.names()
        sealed = set() if sealed is None else sealed
        low = min(self.height(n) for n in names)
        calls = [("eth_getBlockByNumber", [hex(h), False]) for h in range(low + 1)]
        chains = {n: self.batch(n, calls) for n in names}
        for height in range(low + 1):
            hashes = {n: chains[n][height]["hash"] for n in names}
            assert len(set(hashes.values())) == 1, f"two blocks at height {height}: {hashes}"
        for block in chains[names[0]][1:]:
            if block["hash"] not in sealed:
                assert_sealed(block)
                sealed.add(block["hash"])
        return low

    def send_tx(self, via: str, key: str, to: str | None, value: int = 0, data: str = "0x",
                gas: int = 21000) -> str:  # fmt: skip
        """Sign locally (nonces tracked here) and send through `via`; the hash it acknowledged."""
        sender = Account.from_key(key).address
        if sender not in self.nonces:
            self.nonces[sender] = int(self.call(via, "eth_getTransactionCount", sender, "pending"), 16)
        fees = {"maxFeePerGas": 20 * 10**9, "maxPriorityFeePerGas": 10**9}
        tx = {"type": 2, "chainId": self.chain_id, "nonce": self.nonces[sender], "value": value,
              "data": data, "gas": gas, **fees}  # fmt: skip
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

    # -- perturbations ---------------------------------------------------------------------------
    def kill(self, name: str) -> None:
        """kill -9: no shutdown at all, as in a power cut."""
        os.kill(self.pid(name), signal.SIGKILL)
        self.paused.discard(name)
        stop_node(self.root, self.by_name[name])  # reaps it, removes the pid file

    def stop(self, name: str) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s (a paused node is resumed first)."""
        if name in self.paused:
            self.resume(name)
        stop_node(self.root, self.by_name[name])

    def start(self, name: str) -> None:
        start_node(self.root, self.by_name[name])

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def pause(self, name: str) -> None:
        """SIGSTOP: the process freezes with its sockets open (a hung host, a long GC pause)."""
        os.kill(self.pid(name), signal.SIGSTOP)
        self.paused.add(name)

    def resume(self, name: str) -> None:
        os.kill(self.pid(name), signal.SIGCONT)
        self.paused.discard(name)

    def split(self, side: list[str]) -> None:
        """Cut (reset) every link between `side` and the other nodes."""
        for (x, y), proxy in self.proxies.items():
            if (x in side) != (y in side):
                proxy.set_mode("reset")

    def heal(self) -> None:
        for proxy in self.proxies.values():
            proxy.set_mode("pass")

    def byzantine(self, name: str, attacks: list[str], extra: tuple[str, ...] = ()) -> None:
        """Replace the node by harness/byzantine.py on the same config, key and datadir
        (`extra`: more of its options, such as --over-cap-key)."""
        self.stop(name)
        folder = self.root / self.by_name[name].folder
        with open(folder / "byzantine.log", "ab") as log:
            self.villains[name] = subprocess.Popen(
                [sys.executable, "-m", "harness.byzantine", "--config", str(folder / "node.toml"),
                 "--outsider-key", OUTSIDER_KEY, "--attacks", ",".join(attacks), *extra],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def attacks_sent(self, name: str) -> dict[str, int]:
        """What the byzantine stand-in says it has sent so far (its last 'attacks so far' line)."""
        import ast

        text = (self.root / self.by_name[name].folder / "byzantine.log").read_text(errors="replace")
        if "attacks so far: " not in text:
            return {}
        return ast.literal_eval(text.rsplit("attacks so far: ", 1)[1].splitlines()[0])

    def _end_villain(self, name: str) -> None:
        villain = self.villains.pop(name)
        self.paused.discard(name)
        villain.terminate()
        try:
            villain.wait(20)
        except subprocess.TimeoutExpired:
            villain.kill()
            villain.wait()

    def restore(self) -> None:
        """Undo every perturbation still in force: resume, honest again, links up, every node running."""
        for name in list(self.paused):
            self.resume(name)
        for name in list(self.villains):
            self._end_villain(name)
        self.heal()
        for name in self.names():
            self.start(name)  # a no-op for a running node
