"""The ceremony's files, without processes: what `hubao org init` writes and refuses, how `hubao net
genesis` refuses a changed or clashing public file, the password file a node insists on, and
`hubao org trust` pinning an organisation that joined later."""

from __future__ import annotations

import json
import shutil
import stat

import pytest
from click.testing import CliRunner

from consortium.cli import main
from consortium.network.config import ConfigError, load_config, read_password_file
from consortium.network.org import OrgPublic

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """Three organisations' folders (org init in process, light scrypt) and a network from them."""
    root = tmp_path_factory.mktemp("orgs")
    (root / "pw").write_text(PASSWORD + "\n")
    for i, name in enumerate(("org-a", "org-b", "org-c")):
        role = "member" if name == "org-c" else "validator"
        args = ["--dir", str(root / name), "--name", name, "--host", f"127.0.0.{2 + i}", "--role", role]
        done = CliRunner().invoke(
            main, ["org", "init", *args, "--password-file", str(root / "pw"), "--lightkdf"]
        )
        assert done.exit_code == 0, done.output
    return root


def said(result) -> str:
    """What a command printed, on one line (rich wraps long errors)."""
    return " ".join(result.output.split())


def genesis(root, out, *publics) -> object:
    return CliRunner().invoke(
        main,
        ["net", "genesis", *map(str, publics), "--out", str(out), "--genesis-time", "1767225600", "--json"],
    )


def test_org_init_writes_encrypted_keys_and_a_signed_public_file(three):
    folder = three / "org-a"
    public = OrgPublic.load(folder / "public.json")
    body = json.loads((folder / "public.json").read_text())
    assert set(body) == {"format", "name", "role", "node", "admin", "p2p", "rpc", "tlsFingerprint",
                         "tlsCertificate", "nodeSignature", "adminSignature"}  # fmt: skip
    assert public.p2p == "127.0.0.2:30300" and public.rpc == "127.0.0.1:30400"  # JSON-RPC stays local
    for secret in [folder / "tls.key", folder / "jwt.hex", *(folder / "keystore").rglob("UTC--*")]:
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert PASSWORD.encode() not in secret.read_bytes()
    assert "ENCRYPTED PRIVATE KEY" in (folder / "tls.key").read_text()
    again = CliRunner().invoke(main, ["org", "init", "--dir", str(folder), "--name", "org-a", "--host", "x",
                                      "--password-file", str(three / "pw")])  # fmt: skip
    assert again.exit_code == 1 and "already holds an organisation" in said(again)
    bad = CliRunner().invoke(main, ["org", "init", "--dir", str(three / "bad"), "--name", "Org A!",
                                    "--host", "x", "--password-file", str(three / "pw")])  # fmt: skip
    assert (
        bad.exit_code == 1 and "lower-case letters" in said(bad) and not (three / "bad" / "keystore").exists()
    )


def test_genesis_refuses_a_changed_or_clashing_public_file(three, tmp_path):
    publics = [three / n / "public.json" for n in ("org-a", "org-b", "org-c")]
    made = genesis(three, tmp_path / "out", *publics)
    assert made.exit_code == 0, made.output
    assert [o["name"] for o in json.loads(made.output)["organisations"]] == ["org-a", "org-b", "org-c"]
    # the coordinator swaps in an admin of its own: both signatures no longer match
    forged = json.loads(publics[1].read_text()) | {"admin": json.loads(publics[0].read_text())["admin"]}
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = genesis(three, tmp_path / "x", publics[0], tmp_path / "forged.json", publics[2])
    assert refused.exit_code == 1 and "signature does not match (the file was changed)" in said(refused)
    twice = genesis(three, tmp_path / "y", publics[0], publics[0], publics[2])
    assert twice.exit_code == 1 and "the same name org-a" in said(twice)
    no_validator = genesis(three, tmp_path / "z", publics[2])
    assert no_validator.exit_code == 1 and "no organisation runs a validator" in said(no_validator)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_node_reads_only_an_owner_only_password_file(three, tmp_path):
    shutil.copytree(three / "org-b", tmp_path / "org-b")
    made = genesis(three, tmp_path / "out", *(three / n / "public.json" for n in ("org-a", "org-b")))
    assert made.exit_code == 0, made.output
    shutil.copy(tmp_path / "out" / "org-b" / "node.toml", tmp_path / "org-b" / "node.toml")
    config = load_config(tmp_path / "org-b" / "node.toml")
    with pytest.raises(ConfigError, match="does not exist"):
        config.secret()
    (tmp_path / "org-b" / "password").write_text(PASSWORD + "\n")
    (tmp_path / "org-b" / "password").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        config.secret()
    (tmp_path / "org-b" / "password").chmod(0o600)
    assert read_password_file(tmp_path / "org-b" / "password") == PASSWORD
    assert len(config.secret()) == 32  # unlocked unattended, from the file
    (tmp_path / "org-b" / "password").write_text("wrong\n")
    with pytest.raises(ConfigError, match="wrong password"):
        load_config(tmp_path / "org-b" / "node.toml").secret()


def test_org_trust_pins_an_organisation_that_joined_later(three, tmp_path):
    made = genesis(three, tmp_path / "out", *(three / n / "public.json" for n in ("org-a", "org-b")))
    assert made.exit_code == 0, made.output
    config = tmp_path / "out" / "org-a" / "node.toml"
    newcomer = OrgPublic.load(three / "org-c" / "public.json")
    assert newcomer.node not in load_config(config).trusted
    done = CliRunner().invoke(
        main, ["org", "trust", str(three / "org-c" / "public.json"), "--config", str(config)]
    )
    assert done.exit_code == 0, done.output
    trusted = load_config(config)
    assert trusted.trusted[newcomer.node] == newcomer.certificate and newcomer.p2p in trusted.peers
