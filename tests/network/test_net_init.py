"""`hubao net init` writes a network a stranger could start: secrets 0600, certificates from one CA
bound to the node addresses, configs that point at each other, and a Besu-style QBFT genesis."""

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
    ca = x509.load_pem_x509_certificate((root / "ca" / "ca.crt").read_bytes())
    book = json.loads((root / "accounts.json").read_text())
    for secret in [root / "ca" / "ca.key", root / "accounts.json", *(root / "keys").iterdir()]:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    for role in ("deployer", "operator"):
        assert (root / "keys" / f"{role}.key").read_text().strip() == book[role]["privateKey"]
    for i, node in enumerate(network):
        folder = root / node["name"]
        for secret in ("nodekey", "tls.key", "admin.key"):
            assert stat.S_IMODE((folder / secret).stat().st_mode) == 0o600, secret
        key = bytes.fromhex((folder / "nodekey").read_text().strip())
        assert node_address(key) == node["node_id"]
        cert = x509.load_pem_x509_certificate((folder / "tls.crt").read_bytes())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == node["node_id"]
        config = tomllib.loads((folder / "node.toml").read_text())
        assert config["node"]["role"] == node["role"]
        assert config["p2p"]["port"] == 31000 + i and config["rpc"]["port"] == 31100 + i
        others = {f"127.0.0.1:{31000 + j}" for j in range(5) if j != i}
        assert set(config["p2p"]["peers"]) == others
        assert (folder / "genesis.json").read_text() == (root / "genesis.json").read_text()

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
    for who in [book["deployer"], book["operator"], *book["admins"], *book["users"]]:
        assert parsed.alloc[bytes.fromhex(who["address"][2:])]["balance"] > 0
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
