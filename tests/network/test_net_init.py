"""`hubao net init` writes a network a stranger could start: one organisation per node folder with
its secrets 0600 and its keys encrypted, self-signed certificates pinned to the node addresses in
every config, configs that point at each other, and a Besu-style QBFT genesis."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import tomllib

from click.testing import CliRunner
from cryptography import x509
from cryptography.x509.oid import NameOID

from consortium.cli import main as cli_main
from consortium.network.config import load_config
from node.genesis import Genesis
from node.p2p.identity import node_address
from node.permissioning import ALLOWLIST_ADDRESS
from node.qbft.extradata import ExtraData


def test_init_writes_keys_certs_configs_and_genesis(tmp_path):
    root = tmp_path / "net"
    cmd = [sys.executable, "-m", "consortium.cli", "net", "init", "--validators", "4", "--members", "1",
           "--dir", str(root), "--base-port", "31000", "--timescale", "3600", "--json"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [n["role"] for n in listed] == ["validator"] * 4 + ["member"]

    network = json.loads((root / "network.json").read_text())["nodes"]
    book = json.loads((root / "accounts.json").read_text())
    assert book["note"].startswith("TEST-NETWORK MATERIAL")
    for secret in [root / "accounts.json", *(root / "keys").iterdir()]:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    for role in ("deployer", "operator"):
        assert (root / "keys" / f"{role}.key").read_text().strip() == book[role]["privateKey"]
    admins = []
    for i, node in enumerate(network):
        folder = root / node["name"]
        keystores = [*(folder / "keystore" / "node").iterdir(), *(folder / "keystore" / "admin").iterdir()]
        for secret in [folder / "tls.key", folder / "password", *keystores]:
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
        config = load_config(folder / "node.toml")
        assert node_address(config.secret()) == node["node_id"]  # unlocked with the password file
        assert "ENCRYPTED" in (folder / "tls.key").read_text()
        cert = x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes())
        cert.verify_directly_issued_by(cert)  # self-signed: no CA anywhere
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == node["node_id"]
        assert set(config.trusted) == {n["node_id"] for n in network}
        assert config.trusted[node["node_id"]] == (folder / "tls.crt").read_text()
        assert config.role == node["role"]
        assert config.p2p_port == 31000 + i and config.rpc_port == 31100 + i
        assert set(config.peers) == {f"127.0.0.1:{31000 + j}" for j in range(5) if j != i}
        assert (folder / "genesis.json").read_text() == (root / "genesis.json").read_text()
        admins.append(json.loads((folder / "public.json").read_text())["admin"])
    # the same certificate is pinned for a node in every node's config
    first = network[0]["node_id"]
    pinned = {
        tomllib.loads((root / n["name"] / "node.toml").read_text())["p2p"]["trusted"][first] for n in network
    }
    assert len(pinned) == 1

    genesis = json.loads((root / "genesis.json").read_text())
    qbft = genesis["config"]["qbft"]
    assert set(qbft) == {
        "blockperiodseconds",
        "requesttimeoutseconds",
        "epochlength",
        "xemptyblockperiodseconds",
    }
    assert genesis["config"]["hubao"]["clock"]["timescale"] == 3600
    extra = ExtraData.decode(bytes.fromhex(genesis["extraData"][2:]))
    validators = sorted(n["node_id"] for n in network if n["role"] == "validator")
    assert ["0x" + v.hex() for v in extra.validators] == validators
    assert extra.round == 0 and extra.seals == () and extra.vote is None and extra.vanity == b"\0" * 32
    assert genesis["mixHash"] == "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    parsed = Genesis.from_json(genesis)
    for who in [book["deployer"], book["operator"], *book["staff"], *book["users"]]:
        assert parsed.alloc[bytes.fromhex(who["address"][2:])]["balance"] > 0
    for admin in admins:  # the organisations' admins, funded; their keys are in their folders only
        assert parsed.alloc[bytes.fromhex(admin[2:])]["balance"] > 0
        assert admin not in (root / "accounts.json").read_text()
    assert parsed.alloc[bytes.fromhex(ALLOWLIST_ADDRESS[2:])]["code"]

    again = CliRunner().invoke(cli_main, cmd[3:-1])  # in process: the same command, no interpreter start
    assert again.exit_code == 1 and "already holds a network" in " ".join(again.stderr.split())


def test_node_run_with_a_broken_config_says_what_is_wrong_in_one_line(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text('[node]\nname = "x"\nrole = "validator"\n[p2p]\nport = 1\n')
    result = subprocess.run(
        [sys.executable, "-m", "consortium.cli", "node", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "missing setting 'rpc'" in result.stderr and "Traceback" not in result.stderr
