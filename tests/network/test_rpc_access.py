"""JSON-RPC open only as far as the operator opens it, from outside: a network whose nodes listen on
127.0.0.2 and 127.0.0.3 (stand-ins for two machines, so not loopback-only) and a client that
connects from 127.0.0.9 (a third).

Each refusal is a clear HTTP status with a JSON-RPC error and changes nothing (the validator's
pending votes stay as they were): a text/plain "simple request" a web page could send (415), a
Host header naming another site (403, DNS rebinding), a request or preflight from an origin the
operator did not list (403, no CORS header), and an unauthenticated, forged or stale-token
`qbft_proposeValidatorVote` (401); with the node's JWT the operator's vote works. WebSocket
upgrades are refused the same way. A consortium node left at its defaults serves only
eth, net and web3; a node told to serve administrative namespaces beyond loopback without a JWT
secret does not start. (And `--no-revert-reason` leaves Besu's revertReason out of receipts.)
"""

from __future__ import annotations

import asyncio
import http.client
import json
import subprocess
import time
import tomllib

import aiohttp
import pytest
import tomli_w

from consortium.client.jwt import read_secret, token
from consortium.network.layout import free_base_port, load_network
from consortium.network.processes import node_status
from harness.processes import HUBAO, free_port, hubao

OUTSIDE = "127.0.0.9"  # the client's own address: another "host"
CONSOLE = "http://console.example"  # the one origin validator-0's operator lets browsers call from
VOTE = "qbft_proposeValidatorVote"


def edit_rpc(path, **settings) -> None:
    config = tomllib.loads(path.read_text())
    for key, value in settings.items():
        if value is None:
            config["rpc"].pop(key, None)
        else:
            config["rpc"][key] = value
    path.write_text(tomli_w.dumps(config))


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("access")
    base = free_base_port(2, "127.0.0.2")
    init = hubao("net", "init", "--validators", "1", "--members", "1", "--dir", str(root),
                 "--base-port", str(base), "--host", "127.0.0.2", "--host", "127.0.0.3")  # fmt: skip
    assert init.returncode == 0, init.stderr
    edit_rpc(root / "validator-0" / "node.toml", cors=[CONSOLE])
    edit_rpc(root / "member-0" / "node.toml", api=None)  # a consortium node at its defaults
    up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90")
    try:
        assert up.returncode == 0, up.stderr + (root / "validator-0" / "node.log").read_text()[-3000:]
        entries = {e.name: e for e in load_network(root)}
        yield {
            "root": root,
            "validator": entries["validator-0"],
            "member": entries["member-0"],
            "secret": read_secret(root / "validator-0" / "jwt.hex"),
        }
    finally:
        hubao("net", "down", "--dir", str(root), "--json")


def post(entry, body, headers: dict | None = None, content_type: str | None = "application/json"):
    """(status, headers, decoded body) of one POST from OUTSIDE; body: an object or raw bytes."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection(entry.rpc_host, entry.rpc_port, timeout=10, source_address=(OUTSIDE, 0))
    sent = {**({"Content-Type": content_type} if content_type else {}), **(headers or {})}
    try:
        conn.request("POST", "/", data, sent)
        reply = conn.getresponse()
        raw = reply.read()
        return reply.status, dict(reply.getheaders()), json.loads(raw) if raw else None
    finally:
        conn.close()


def call(method: str, *params) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}


def bearer(secret: bytes, **kwargs) -> dict:
    return {"Authorization": f"Bearer {token(secret, **kwargs)}"}


def pending(net) -> dict:
    status, _, reply = post(net["validator"], call("qbft_getPendingVotes"), bearer(net["secret"]))
    assert status == 200, reply
    return reply["result"]


def vote(net) -> dict:
    return call(VOTE, net["member"].node_id, True)


def assert_refused(reply, status: int, expected_status: int, code: int, words: str) -> None:
    assert status == expected_status, reply
    assert reply["jsonrpc"] == "2.0" and reply["error"]["code"] == code, reply
    assert words in reply["error"]["message"], reply


def test_a_text_plain_post_is_refused_and_changes_nothing(net):
    before = pending(net)
    for kind in ("text/plain", "application/x-www-form-urlencoded", None):
        status, _, reply = post(net["validator"], vote(net), bearer(net["secret"]), content_type=kind)
        assert_refused(reply, status, 415, -32600, "POST JSON-RPC as application/json")
    assert pending(net) == before


def test_a_foreign_host_header_is_refused_and_changes_nothing(net):
    before, entry = pending(net), net["validator"]
    for host in ("attacker.example", f"attacker.example:{entry.rpc_port}", "127.0.0.2.nip.io"):
        status, _, reply = post(entry, vote(net), {"Host": host, **bearer(net["secret"])})
        assert_refused(reply, status, 403, -32600, "is not allowed (--rpc-vhosts)")
    assert pending(net) == before
    for host in (f"localhost:{entry.rpc_port}", f"127.0.0.2:{entry.rpc_port}"):  # allowed by default
        status, _, reply = post(entry, call("eth_chainId"), {"Host": host})
        assert status == 200 and reply["result"] == "0x205a", reply


def test_a_cross_origin_request_gets_no_cors_header_and_is_refused(net):
    before, entry = pending(net), net["validator"]
    evil = {"Origin": "http://evil.example", **bearer(net["secret"])}
    status, headers, reply = post(entry, vote(net), evil)
    assert_refused(reply, status, 403, -32600, "origin 'http://evil.example' is not allowed (--rpc-cors)")
    assert "Access-Control-Allow-Origin" not in headers
    assert pending(net) == before
    conn = http.client.HTTPConnection(entry.rpc_host, entry.rpc_port, timeout=10, source_address=(OUTSIDE, 0))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    for origin, expected in (("http://evil.example", 403), (CONSOLE, 204)):
        conn.request("OPTIONS", "/", headers={"Origin": origin, **preflight})
        answer = conn.getresponse()
        answer.read()
        assert answer.status == expected
        assert answer.getheader("Access-Control-Allow-Origin") == (CONSOLE if expected == 204 else None)
        if expected == 204:
            assert "Authorization" in answer.getheader("Access-Control-Allow-Headers")
    conn.close()
    status, headers, reply = post(entry, call("eth_chainId"), {"Origin": CONSOLE})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == CONSOLE and reply["result"]
    # the member node lists no origin at all: a browser gets nothing from it
    status, headers, reply = post(net["member"], call("eth_chainId"), {"Origin": CONSOLE})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers


def test_an_unauthenticated_vote_is_refused_and_the_operators_signed_vote_works(net):
    before, member = pending(net), net["member"].node_id
    status, _, reply = post(net["validator"], vote(net))
    assert_refused(reply, status, 401, -40100, f"Unauthorized: {VOTE} needs a JWT on this listener")
    status, _, replies = post(net["validator"], [call("eth_chainId"), vote(net)])  # in a batch: per call
    assert status == 200 and replies[0]["result"] == "0x205a" and replies[1]["error"]["code"] == -40100
    assert pending(net) == before and member not in before
    status, _, reply = post(net["validator"], vote(net), bearer(net["secret"]))
    assert status == 200 and reply["result"] is True, reply
    assert pending(net) == {**before, member: True}
    discard = call("qbft_discardValidatorVote", member)
    status, _, reply = post(net["validator"], discard, bearer(net["secret"]))
    assert reply["result"] is True and pending(net) == before
    # `hubao net status` signs its admin calls with the node folder's secret
    status = node_status(net["root"], net["validator"])
    assert status["validator"] is True and status["round"] is not None and status["pool"] == 0


def test_a_forged_stale_or_future_token_is_refused_for_any_method(net):
    before, secret = pending(net), net["secret"]
    now = time.time()
    for headers, words in [
        (bearer(b"\x01" * 32), "signature does not match"),
        (bearer(secret, now=now - 120), "stale JWT"),
        (bearer(secret, now=now + 120), "in the future"),
        (bearer(secret, exp=int(now) - 1), "expired"),
        ({"Authorization": "Bearer " + token(secret).rsplit(".", 1)[0] + "."}, "signature does not match"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
    ]:
        for body in (vote(net), call("eth_chainId")):  # a bad token is refused, not taken as none
            status, _, reply = post(net["validator"], body, headers)
            assert_refused(reply, status, 401, -40100, words)
    header, claims, _ = token(secret).split(".")
    unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + claims + "."  # {"alg":"none"}
    status, _, reply = post(net["validator"], vote(net), {"Authorization": f"Bearer {unsigned}"})
    assert_refused(reply, status, 401, -40100, "HS256 only")
    assert pending(net) == before


async def _ws(entry, headers: dict, calls: list[dict]) -> tuple[int, list[dict]]:
    """(101 or the refusal's status, replies) of a WebSocket from OUTSIDE."""
    connector = aiohttp.TCPConnector(local_addr=(OUTSIDE, 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        try:
            async with session.ws_connect(f"ws://{entry.rpc_host}:{entry.rpc_port}", headers=headers) as ws:
                replies = []
                for body in calls:
                    await ws.send_json(body)
                    replies.append(await ws.receive_json(timeout=10))
                return 101, replies
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status, []


def test_websocket_upgrades_are_checked_the_same_way(net):
    before, entry, secret = pending(net), net["validator"], net["secret"]
    for headers, status in [
        ({"Host": "attacker.example"}, 403),
        ({"Origin": "http://evil.example"}, 403),
        (bearer(b"\x02" * 32), 401),
        (bearer(secret, now=0), 401),
    ]:
        assert asyncio.run(_ws(entry, headers, [vote(net)])) == (status, [])
    status, replies = asyncio.run(_ws(entry, {}, [call("eth_chainId"), vote(net)]))
    assert status == 101 and replies[0]["result"] == "0x205a" and replies[1]["error"]["code"] == -40100
    assert pending(net) == before
    status, replies = asyncio.run(_ws(entry, bearer(secret), [call("qbft_getPendingVotes")]))
    assert status == 101 and replies[0]["result"] == before


def test_a_default_consortium_node_serves_eth_net_web3_only(net):
    member = net["member"]
    secret = read_secret(net["root"] / "member-0" / "jwt.hex")
    for headers in ({}, bearer(secret)):  # a JWT opens nothing the operator did not list
        for method in ("admin_peers", "qbft_getPendingVotes", "txpool_status", "perm_getAdmins"):
            status, _, reply = post(member, call(method), headers)
            assert_refused(reply, status, 200, -32601, f"the method {method} does not exist/is not available")
    status, _, reply = post(member, call("net_version"))
    assert status == 200 and reply["result"] == "8282"


def test_refusals_are_logged_once_per_client(net):
    for _ in range(3):
        post(net["validator"], call("eth_chainId"), {"Host": "rebind.example"})
    log = (net["root"] / "validator-0" / "node.log").read_text()
    assert log.count(f"refused host from {OUTSIDE}") == 1


def test_administrative_namespaces_beyond_loopback_need_a_jwt_secret(tmp_path):
    run = subprocess.run(
        [*HUBAO, "node", "run", "--dev", "--rpc-host", "127.0.0.2", "--port", str(free_port()),
         "--datadir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1
    assert "not loopback-only: administrative namespaces there need a JWT secret" in run.stderr


# a contract whose every call reverts with 32 bytes of data (0x...2a)
REVERTS = "600a80600b6000396000f3" + "602a60005260206000fd"


@pytest.mark.parametrize("flag", [None, "--no-revert-reason"])
def test_revert_reason_follows_the_node_flag(tmp_path, flag):
    from harness.processes import DEV_ADDRESSES, DevNode

    with DevNode.start(tmp_path / "data", extra=[flag] if flag else []) as node:
        sender = DEV_ADDRESSES[0]

        def mined(tx_hash: str) -> dict:
            deadline = time.monotonic() + 10
            while (receipt := node.rpc("eth_getTransactionReceipt", tx_hash)) is None:
                assert time.monotonic() < deadline, f"{tx_hash} not mined"
                time.sleep(0.05)
            return receipt

        deployed = node.rpc("eth_sendTransaction", {"from": sender, "data": "0x" + REVERTS, "gas": "0x30000"})
        contract = mined(deployed)["contractAddress"]
        receipt = mined(node.rpc("eth_sendTransaction", {"from": sender, "to": contract, "gas": "0x10000"}))
    assert receipt["status"] == "0x0"
    if flag is None:  # on by default, as Besu's --revert-reason-enabled
        assert receipt["revertReason"] == "0x" + "00" * 31 + "2a"
    else:
        assert "revertReason" not in receipt


def test_a_tools_evidence_upload_beyond_loopback_needs_the_jwt_secret_file(net, monkeypatch):
    """What `hubao wallet claim submit --jwt-secret FILE` does: the client library signs the call."""
    from consortium.client import connect
    from consortium.evidence.bundle import Bundle
    from consortium.evidence.client import EvidenceClient
    from consortium.evidence.envelope import public_key_of
    from consortium.evidence.store import EvidenceError

    claimant = json.loads((net["root"] / "accounts.json").read_text())["users"][0]["privateKey"]
    key = bytes.fromhex(claimant[2:])
    bundle = Bundle({"diagnosis.txt": b"acute myocardial infarction"})
    blob = bundle.seal_for([public_key_of(key)])
    url, secret_file = net["validator"].rpc_url, net["root"] / "validator-0" / "jwt.hex"
    monkeypatch.delenv("HUBAO_JWT_SECRET", raising=False)
    with pytest.raises(EvidenceError, match="Unauthorized: hubao_putEvidence needs a JWT"):
        EvidenceClient(connect(url)).put(bundle.root, blob, key)
    assert EvidenceClient(connect(url)).get(bundle.root) == []  # reading needs none
    EvidenceClient(connect(url, jwt_secret=secret_file)).put(bundle.root, blob, key)
    monkeypatch.setenv("HUBAO_JWT_SECRET", str(secret_file))  # the tools that take no option
    assert EvidenceClient(connect(url)).get(bundle.root) == [blob]


def test_jwt_secret_files_and_rpc_settings_are_checked_before_anything_starts(net, tmp_path):
    from click.testing import CliRunner

    from consortium.cli import main

    made = CliRunner().invoke(main, ["node", "jwt-secret", str(tmp_path / "jwt.hex")])
    assert made.exit_code == 0 and (tmp_path / "jwt.hex").stat().st_mode & 0o777 == 0o600
    assert len(read_secret(tmp_path / "jwt.hex")) == 32
    again = CliRunner().invoke(main, ["node", "jwt-secret", str(tmp_path / "jwt.hex")])
    assert again.exit_code == 1 and "exists already" in again.output
    (tmp_path / "jwt.hex").chmod(0o644)
    loose = CliRunner().invoke(main, ["node", "run", "--dev", "--rpc-jwt-secret", str(tmp_path / "jwt.hex")])
    assert loose.exit_code == 1 and "readable by others" in loose.output
    config = net["root"] / "member-0" / "node.toml"
    text = config.read_text()
    try:
        edit_rpc(config, vhost=["typo"])
        typo = CliRunner().invoke(main, ["node", "run", "--config", str(config)])
        assert typo.exit_code == 1 and "[rpc] has unknown settings: vhost" in typo.output
    finally:
        config.write_text(text)
