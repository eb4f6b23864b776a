"""`hubao wallet` keys, run as a user runs them; keystores interoperate with ethers (an independent
implementation of Web3 Secret Storage) both ways."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUBAO = [sys.executable, "-m", "consortium.cli"]


def hubao(*args, wallet_dir):
    return subprocess.run(
        [*HUBAO, "wallet", "--wallet-dir", str(wallet_dir), *args], capture_output=True, text=True, cwd=ROOT
    )


def ethers(script: str) -> str:
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, cwd=ROOT, check=True)
    return out.stdout.strip()


def test_new_key_is_private_and_readable_by_ethers(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    made = hubao("--json", "new", "--password-file", str(pw), wallet_dir=tmp_path / "w")
    assert made.returncode == 0, made.stderr
    info = json.loads(made.stdout)
    keyfile = Path(info["keyfile"])
    assert keyfile.stat().st_mode & 0o777 == 0o600
    assert json.loads(keyfile.read_text())["crypto"]["kdf"] == "scrypt"
    recovered = ethers(
        "const {Wallet}=require('ethers');const fs=require('fs');"
        f"Wallet.fromEncryptedJson(fs.readFileSync('{keyfile}','utf8'),'correct horse')"
        ".then(w=>console.log(w.address))"
    )
    assert recovered == info["address"]


def test_import_from_ethers_then_wrong_password_is_one_line(tmp_path):
    private_key = "0x" + os.urandom(32).hex()
    theirs = tmp_path / "from-ethers.json"
    address = ethers(
        "const {Wallet}=require('ethers');const fs=require('fs');"
        f"const w=new Wallet('{private_key}');"
        f"w.encrypt('s3cret').then(j=>{{fs.writeFileSync('{theirs}',j);console.log(w.address)}})"
    )
    pw = tmp_path / "pw"
    pw.write_text("s3cret")
    imported = hubao("--json", "import", str(theirs), "--password-file", str(pw), wallet_dir=tmp_path / "w")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["address"] == address

    bad = tmp_path / "bad"
    bad.write_text("wrong")
    refused = hubao("import", str(theirs), "--password-file", str(bad), wallet_dir=tmp_path / "w2")
    assert refused.returncode == 1
    assert "wrong password" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_corrupt_keystore_is_named(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"address": "00", "crypto": {"cipher": "aes-128-ctr"')
    pw = tmp_path / "pw"
    pw.write_text("x")
    refused = hubao("import", str(broken), "--password-file", str(pw), wallet_dir=tmp_path / "w")
    assert refused.returncode == 1
    assert "not a readable keystore" in refused.stderr and "Traceback" not in refused.stderr
    listed = hubao("--json", "list", wallet_dir=tmp_path / "w")
    assert json.loads(listed.stdout) == []
