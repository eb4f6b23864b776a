"""A real network: `hubao net up` starts 4 validators and a member node as OS processes on loopback.

What users rely on: blocks on every node with identical hashes, `net status` telling the truth,
strangers (a certificate nobody pinned, even with a consortium node's own key) never becoming
peers, garbage on the p2p port changing nothing, transactions from accounts off the allowlist
refused at every node's JSON-RPC, and `net down` leaving no process behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from consortium.cli import main as cli_main
from consortium.network.config import load_config
from consortium.network.layout import free_base_port
from consortium.network.pki import create_node_certificate
from harness.polling import until
from harness.processes import hubao, rpc
from node.p2p.identity import node_address
from node.p2p.transport import P2PConfig, TlsPeerNetwork


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def refusals(url: str) -> int:
    """Inbound connections and handshakes the node has refused since it started."""
    return rpc(url, "admin_nodeInfo")["p2p"]["refused"]


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("consortium")
    base = free_base_port(5)
    init = hubao("net", "init", "--validators", "4", "--members", "1", "--dir", str(root),
                 "--base-port", str(base), "--timescale", "3600")  # fmt: skip
    assert init.returncode == 0, init.stderr
    # a relative --dir, as the README writes it (the nodes run in their own folders)
    up = hubao("net", "up", "--dir", root.name, "--json", "--timeout", "60", cwd=root.parent)
    try:
        assert up.returncode == 0, up.stderr + "".join(
            (root / n / "node.log").read_text()[-2000:] for n in ("validator-0", "member-0")
        )
        yield root, json.loads(up.stdout)
    finally:
        down = hubao("net", "down", "--dir", str(root), "--json")
        assert down.returncode == 0, down.stderr
        assert {row["result"] for row in json.loads(down.stdout)} <= {"stopped", "not running"}
        network = json.loads((root / "network.json").read_text())["nodes"]
        assert not any((root / n["name"] / "node.pid").exists() for n in network)
        assert not [p for p in (s["pid"] for s in json.loads(up.stdout or "[]")) if running(p)]


def status(root) -> list[dict]:
    """`hubao net status --json`, run in this process (polled often: no interpreter start each time)."""
    result = CliRunner().invoke(cli_main, ["net", "status", "--dir", str(root), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_up_produces_identical_blocks_and_status_reports_each_node(net):
    root, started = net
    assert [s["name"] for s in started] == [
        "validator-0",
        "validator-1",
        "validator-2",
        "validator-3",
        "member-0",
    ]
    assert all(s["pid"] and s["height"] >= 1 for s in started)

    def all_at_height_2():
        rows = status(root)
        return rows if min(r["height"] or 0 for r in rows) >= 2 else None

    rows = until(all_at_height_2, what="height 2")
    for row in rows:
        assert row["error"] is None and row["peers"] == 4 and row["pool"] == 0
        assert row["validator"] is (row["role"] == "validator")
        assert os.path.exists(f"/proc/{row['pid']}")
        assert (root / row["name"] / "node.log").stat().st_size > 0
    assert all(r["round"] == 0 for r in rows if r["role"] == "validator")
    height = min(r["height"] for r in rows)
    hashes = {rpc(r["rpc"], "eth_getBlockByNumber", hex(height), False)["hash"] for r in rows}
    assert len(hashes) == 1


def test_block_timestamps_follow_the_scaled_clock(net):
    """--timescale 3600: one real second is one simulated hour, on every node alike."""
    root, started = net
    url = started[0]["rpc"]
    until(lambda: int(rpc(url, "eth_blockNumber"), 16) >= 3, what="height 3")
    clock = rpc(url, "admin_nodeInfo")["clock"]
    head = rpc(url, "eth_getBlockByNumber", "latest", False)
    stamps = [int(rpc(url, "eth_getBlockByNumber", hex(n), False)["timestamp"], 16) for n in (1, 2, 3)]
    assert clock["timescale"] == 3600
    assert all(b - a >= 3600 for a, b in zip(stamps, stamps[1:], strict=False))  # >= one block period
    assert clock["now"] - 30 * 3600 <= int(head["timestamp"], 16) <= clock["now"] + 3 * 3600
    assert abs(time.time() - clock["now"]) > 3600  # simulated time has run ahead of the wall clock


def test_allowlisted_account_transacts_through_any_node_and_strangers_are_refused_everywhere(net):
    root, started = net
    book = json.loads((root / "accounts.json").read_text())
    urls = [s["rpc"] for s in started]
    chain_id = int(rpc(urls[0], "eth_chainId"), 16)

    def transfer(key: str, nonce: int) -> str:
        tx = {"chainId": chain_id, "nonce": nonce, "to": "0x" + "22" * 20, "value": 7, "gas": 21000,
              "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9}  # fmt: skip
        return "0x" + bytes(Account.sign_transaction(tx, key).raw_transaction).hex()

    stranger = Account.create()
    for url in urls:
        with pytest.raises(RuntimeError) as refused:
            rpc(url, "eth_sendRawTransaction", transfer(stranger.key, 0))
        assert refused.value.args[:2] == (-32000, "sender account not authorized to send transactions")

    member_url = urls[-1]
    tx_hash = rpc(member_url, "eth_sendRawTransaction", transfer(book["users"][0]["privateKey"], 0))
    receipt = until(lambda: rpc(urls[0], "eth_getTransactionReceipt", tx_hash), what="receipt on validator-0")
    assert receipt["status"] == "0x1"
    number = receipt["blockNumber"]
    until(
        lambda: all(int(rpc(u, "eth_blockNumber"), 16) >= int(number, 16) for u in urls), what="all caught up"
    )
    assert len({rpc(u, "eth_getBlockByNumber", number, False)["hash"] for u in urls}) == 1
    assert all(int(rpc(u, "eth_getBalance", "0x" + "22" * 20, "latest"), 16) == 7 for u in urls)
    allowed = [a.lower() for a in rpc(urls[1], "perm_getAccountsAllowlist")]
    assert book["users"][0]["address"].lower() in allowed and stranger.address.lower() not in allowed
    nodes = rpc(urls[1], "perm_getNodesAllowlist")
    assert sorted(nodes) == sorted(
        json.loads((root / "network.json").read_text())["nodes"][i]["node_id"] for i in range(5)
    )


def test_nodes_off_the_allowlist_or_with_an_unpinned_certificate_never_become_peers(net, tmp_path):
    root, started = net
    target = f"127.0.0.1:{json.loads((root / 'network.json').read_text())['nodes'][0]['p2p_port']}"
    chain_id = json.loads((root / "genesis.json").read_text())["config"]["chainId"]
    trusted = load_config(root / "validator-0" / "node.toml").trusted  # they trust the consortium's nodes
    # 1. a stranger: a node key the consortium never allowlisted, its own self-signed certificate
    outsider_key = os.urandom(32)
    create_node_certificate(node_address(outsider_key), tmp_path / "o.crt", tmp_path / "o.key")
    # 2. validator-1's own node key (stolen), with a fresh certificate: not the one pinned for it
    insider_key = load_config(root / "validator-1" / "node.toml").secret()
    create_node_certificate(node_address(insider_key), tmp_path / "r.crt", tmp_path / "r.key")

    def network(key, cert, tls_key):
        config = P2PConfig("127.0.0.1", 0, [target], trusted, cert, tls_key, chain_id)
        return TlsPeerNetwork(config, key, lambda _: True)

    async def kept_out(n: TlsPeerNetwork) -> list:
        """What `n` was connected to while it dialled validator-0 until refused twice (it redials
        after the first refusal): nothing."""
        before = await asyncio.to_thread(refusals, started[0]["rpc"])
        await n.start()
        seen, deadline = [], time.monotonic() + 30
        try:
            while await asyncio.to_thread(refusals, started[0]["rpc"]) < before + 2:
                seen += n.peers()
                assert time.monotonic() < deadline, "validator-0 did not refuse the dialler twice"
                await asyncio.sleep(0.1)
            return seen + n.peers()
        finally:
            await n.stop()

    async def attempt():
        return [
            await kept_out(network(outsider_key, tmp_path / "o.crt", tmp_path / "o.key")),
            await kept_out(network(insider_key, tmp_path / "r.crt", tmp_path / "r.key")),
        ]

    assert asyncio.run(attempt()) == [[], []]
    peers = rpc(started[0]["rpc"], "admin_peers")
    assert node_address(outsider_key) not in {p["id"] for p in peers} and len(peers) == 4
    log = (root / "validator-0" / "node.log").read_text()
    assert "refused inbound" in log and "certificate" in log


def test_garbage_on_the_p2p_port_is_dropped_and_the_node_keeps_going(net):
    root, started = net
    node = json.loads((root / "network.json").read_text())["nodes"][1]
    url = started[1]["rpc"]
    before = int(rpc(url, "eth_blockNumber"), 16)
    for _ in range(3):  # plain TCP garbage
        with socket.create_connection(("127.0.0.1", node["p2p_port"]), timeout=5) as s:
            s.sendall(os.urandom(2048))
    # a TLS client with no certificate at all
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", node["p2p_port"]), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw) as tls:
                tls.sendall(b"\x00\x00\x00\x05\x01\x02garbage")
                tls.recv(1024)
        except (ssl.SSLError, OSError):
            pass  # refused during or right after the handshake: that is the point
    until(lambda: int(rpc(url, "eth_blockNumber"), 16) >= before + 2, what="blocks continue")
    assert rpc(url, "net_peerCount") == "0x4"
    assert status(root)[1]["pid"] == started[1]["pid"]


def test_consortium_majority_removes_a_node_and_every_peer_drops_it(net):
    """Runs last: member-0 leaves the network by a vote of 3 of the 5 organisations, cast with
    `hubao net allowlist` and each organisation's admin key."""
    root, started = net
    member = json.loads((root / "network.json").read_text())["nodes"][4]
    urls = [s["rpc"] for s in started]

    def allowlist(*args: str, org: str | None = None, key: Path | None = None):
        """`hubao net allowlist ...` in this process (the CLI's own code path, no interpreter start),
        signed with the organisation's admin keystore or a hex key file."""
        extra = ["--key-file", str(key)] if key else []
        if org:
            extra = ["--keystore", str(root / org / "keystore" / "admin"), "--password-file",
                     str(root / org / "password")]  # fmt: skip
        return CliRunner().invoke(cli_main, ["net", "allowlist", *args, "--rpc", urls[0], *extra, "--json"])

    proposed = allowlist("propose", "--node", "--remove", member["node_id"], org="validator-0")
    assert proposed.exit_code == 0, proposed.output
    assert json.loads(proposed.stdout) == {"proposal": 1, "approvals": 1, "admins": 5, "executed": False}
    stranger = json.loads((root / "accounts.json").read_text())["users"][1]["privateKey"]  # not an admin
    (root / "stranger.key").write_text(stranger)
    refused = allowlist("approve", "1", key=root / "stranger.key")
    assert (
        refused.exit_code == 1 and "NotAdmin" in refused.stderr and isinstance(refused.exception, SystemExit)
    )
    assert json.loads(allowlist("approve", "1", org="member-0").stdout)["executed"] is False
    shown = json.loads(allowlist("show").stdout)
    assert member["node_id"] in [n.lower() for n in shown["nodes"]]  # 2 of 5 is not a majority
    assert [(p["id"], p["approvals"], p["admins"]) for p in shown["pending"]] == [(1, 2, 5)]
    assert json.loads(allowlist("approve", "1", org="validator-2").stdout)["executed"] is True
    assert member["node_id"] not in rpc(urls[0], "perm_getNodesAllowlist")
    until(lambda: rpc(urls[-1], "net_peerCount") == "0x0", what="member-0 isolated")
    for url in urls[:4]:
        assert member["node_id"] not in {p["id"] for p in rpc(url, "admin_peers")}
    before = {url: refusals(url) for url in urls[:4]}

    def refused_again() -> bool:  # it keeps dialling; nobody lets it back in
        assert rpc(urls[-1], "net_peerCount") == "0x0"
        return all(refusals(url) >= before[url] + 2 for url in urls[:4])

    until(refused_again, 30, "every validator refusing member-0 twice more")
    assert rpc(urls[-1], "net_peerCount") == "0x0"
