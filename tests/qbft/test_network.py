"""QBFT with real processes on loopback: `hubao net init/up` starts 4 validators and a member node,
each its own OS process, with every p2p link through a controllable TCP proxy (tests/support/proxy).

One network serves the whole module; each test leaves it healthy (every node running, links up).
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
from eth_account import Account
from eth_utils import to_checksum_address

from consortium.network.layout import load_network
from consortium.network.processes import pid_of, rpc, start_node, stop_node
from node.qbft.extradata import ExtraData
from node.qbft.keys import recover
from node.qbft.validators import quorum
from tests.network.test_net_processes import free_base_port, hubao
from tests.support.processes import ROOT
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.timeout(240)

# a tiny counter: any call with calldata increments slot 0, a call without returns it
RUNTIME = "3615600f57600054600101600055005b60005460005260206000f3"
INIT = "601b80600b6000396000f3" + RUNTIME
OUTSIDER_KEY = "0x" + "5a" * 32
OUTSIDER = Account.from_key(OUTSIDER_KEY).address


class Net:
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


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("qbft-net")
    base = free_base_port()
    init = hubao(
        "net", "init", "--validators", "4", "--members", "1", "--dir", str(root), "--base-port", str(base),
        "--block-period", "1", "--empty-block-period", "1", "--request-timeout", "2",
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    network = Net(root)
    # every link goes through its own proxy: node a dials node b at proxy (a, b)
    for a in network.entries:
        path = root / a.name / "node.toml"
        config = tomllib.loads(path.read_text())
        peers = []
        for b in network.entries:
            if b.name != a.name:
                proxy = TcpProxy("127.0.0.1", b.p2p_port).start()
                network.proxies[(a.name, b.name)] = proxy
                peers.append(proxy.address)
        config["p2p"]["peers"] = peers
        path.write_text(tomli_w.dumps(config))
    up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90", timeout=150)
    try:
        assert up.returncode == 0, up.stderr + (root / "validator-0" / "node.log").read_text()[-3000:]
        yield network
    finally:
        hubao("net", "down", "--dir", str(root), "--json")
        for proxy in network.proxies.values():
            proxy.stop()


def test_validators_and_member_agree_and_a_contract_works_through_any_node(net):
    net.wait_height(3)
    deployer = net.accounts["deployer"]["privateKey"]
    tx_hash = net.send_tx("member-0", deployer, None, data="0x" + INIT, gas=200_000)
    receipt = net.receipt("validator-2", tx_hash)
    assert receipt["status"] == "0x1"
    counter = receipt["contractAddress"]
    for via in ("validator-1", "validator-3", "member-0"):
        net.receipt(via, net.send_tx(via, deployer, counter, data="0x01", gas=60_000))
    net.wait_height(int(receipt["blockNumber"], 16) + 2)
    for name in net.names():
        assert int(net.call(name, "eth_call", {"to": counter}, "latest"), 16) == 3
        assert net.call(name, "eth_getCode", counter, "latest") == "0x" + RUNTIME
    net.assert_one_chain()


def test_one_validator_down_blocks_continue_two_down_halts_without_fork_then_recovers(net):
    net.stop("validator-3")
    h = net.top()
    net.wait_height(h + 3, timeout=40)  # 3 of 4 is a quorum
    net.stop("validator-2")
    time.sleep(2)
    halted = net.heights(net.running())
    time.sleep(6)
    assert net.heights(net.running()) == halted  # 2 of 4: no block can be final
    net.start("validator-2")
    net.start("validator-3")
    net.wait_height(max(halted.values()) + 2, net.names(), timeout=90)
    net.assert_one_chain()


def test_kill9_mid_stream_loses_no_committed_transaction(net):
    user = net.accounts["users"][0]["privateKey"]
    hashes = [net.send_tx("member-0", user, "0x" + "22" * 20, value=1) for _ in range(10)]
    time.sleep(0.7)
    net.kill9("validator-1")  # in the middle of a round, as likely as not
    hashes += [net.send_tx("validator-0", user, "0x" + "22" * 20, value=1) for _ in range(10)]
    receipts = {h: net.receipt("validator-0", h, timeout=60) for h in hashes}
    net.start("validator-1")
    net.wait_height(net.top(["validator-0"]), ["validator-1"], timeout=90)
    for tx_hash, receipt in receipts.items():
        again = net.call("validator-1", "eth_getTransactionReceipt", tx_hash)
        assert again and again["blockHash"] == receipt["blockHash"]
    net.wait_height(net.top() + 2, net.names())  # and it takes part again
    net.assert_one_chain()


def test_network_split_never_finalises_two_blocks_at_one_height_and_heals(net):
    side_a = ["validator-0", "validator-1"]  # | validator-2, validator-3, member-0
    try:
        for (x, y), proxy in net.proxies.items():
            if (x in side_a) != (y in side_a):
                proxy.set_mode("reset")
        time.sleep(3)
        frozen = net.heights()
        time.sleep(6)
        assert net.heights() == frozen  # neither side has a quorum (2 of 4)
    finally:
        net.heal()
    net.wait_height(max(frozen.values()) + 2, net.names(), timeout=90)
    net.assert_one_chain()
    # 3 | 1: the majority side goes on, the lone validator catches up after the heal
    try:
        for (x, y), proxy in net.proxies.items():
            if "validator-3" in (x, y):
                proxy.set_mode("reset")
        h = net.top()
        net.wait_height(h + 3, ["validator-0", "validator-1", "validator-2"], timeout=40)
    finally:
        net.heal()
    net.wait_height(h + 3, net.names(), timeout=90)
    net.assert_one_chain()


def test_byzantine_validator_changes_nothing(net):
    """validator-3 turns byzantine: equivocating proposals, forged/duplicated/missing seals, garbage,
    replays, and a transfer from a funded account that is not allowlisted inside its own blocks."""
    deployer = net.accounts["deployer"]["privateKey"]
    net.receipt("validator-0", net.send_tx("validator-0", deployer, OUTSIDER, value=10**18))
    with pytest.raises(RuntimeError, match="not authorized"):  # refused at every JSON-RPC
        net.send_tx("member-0", OUTSIDER_KEY, "0x" + "00" * 20, value=1)
    net.stop("validator-3")
    folder = net.root / "validator-3"
    log = open(folder / "byzantine.log", "ab")  # noqa: SIM115
    villain = subprocess.Popen(
        [sys.executable, "-m", "tests.support.byzantine", "--config", str(folder / "node.toml"),
         "--outsider-key", OUTSIDER_KEY],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:

        def sent() -> dict:
            text = (folder / "byzantine.log").read_text()
            if "attacks so far: " not in text:
                return {}
            return ast.literal_eval(text.rsplit("attacks so far: ", 1)[1].splitlines()[0])

        attacks = ("equivocate", "forge_seals", "bad_tx", "garbage", "replay")
        net.wait(lambda: all(sent().get(a, 0) >= 1 for a in attacks), 120, "every attack sent")
        honest = ["validator-0", "validator-1", "validator-2", "member-0"]
        net.wait_height(net.top() + 2, honest, timeout=60)
    finally:
        villain.terminate()
        villain.wait(20)
        log.close()
    assert int(net.call("validator-0", "eth_getTransactionCount", OUTSIDER, "latest"), 16) == 0
    net.assert_one_chain(honest)
    # each offence gets the villain dropped and banned for a while, so which attack an honest node
    # sees first varies; tests/qbft/test_byzantine.py checks every attack one by one
    logs = "".join((net.root / n / "node.log").read_text() for n in honest)
    villain_id = net.by_name["validator-3"].node_id.lower()
    assert f"punishing peer {villain_id}" in logs
    assert any(r in logs for r in ("not on the allowlist", "commit seals", "equivocating", "malformed"))
    net.start("validator-3")
    net.wait_height(net.top() + 2, net.names(), timeout=90)
    net.assert_one_chain()


def test_validator_added_and_removed_by_vote(net):
    member = net.by_name["member-0"].node_id
    for name in net.names("validator"):
        assert net.call(name, "qbft_proposeValidatorVote", member, True) is True
    assert net.call("validator-0", "qbft_getPendingVotes") == {member.lower(): True}
    net.wait(
        lambda: member.lower() in net.call("member-0", "qbft_getValidatorsByBlockNumber", "latest"),
        60,
        "member voted in",
    )
    net.wait(lambda: net.call("member-0", "qbft_getStatus")["validator"], 30, "member validating")
    leaver = net.by_name["validator-3"].node_id.lower()
    for name in ("validator-0", "validator-1", "validator-2", "member-0"):
        net.call(name, "qbft_proposeValidatorVote", leaver, False)
    net.wait(
        lambda: leaver not in net.call("validator-0", "qbft_getValidatorsByBlockNumber", "latest"),
        60,
        "validator-3 voted out",
    )
    net.stop("validator-3")  # no longer needed: the four left are a full set
    net.wait_height(net.top() + 3, ["validator-0", "validator-1", "validator-2", "member-0"], timeout=60)
    assert len(net.call("validator-0", "qbft_getValidatorsByBlockNumber", "latest")) == 4
    net.start("validator-3")  # it follows as a non-validator now
    net.wait_height(net.top(), net.names(), timeout=60)
    net.assert_one_chain()
