"""A consortium no single party controls, made the way organisations would make it: four
organisations each run `hubao org init` in their own folder and serve on their own loopback address
(127.0.0.2 to .5); a coordinator runs `hubao net genesis` over their public files only; anyone
rerunning it gets the same bytes; every organisation starts its own node from its own folder.

Then: the network finalises; no organisation's folder (nor the coordinator's) holds another's node
key, admin key or TLS key; evidence uploads must be signed by an allowlisted account and bound to
their root, are refused with a reason otherwise, record who uploaded them, reach every node, and
are still served after the node they were put to is lost.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w
from cryptography.hazmat.primitives import serialization
from eth_account import Account

from consortium.evidence.bundle import Bundle, open_readable
from consortium.evidence.envelope import NotAReader, public_key_of
from consortium.evidence.upload import Upload
from consortium.network.layout import free_base_port, load_network
from consortium.network.processes import pid_of, start_node, stop_nodes, wait_for_blocks
from consortium.wallet.keystore import Keystore
from harness.polling import until
from harness.processes import HUBAO, ROOT, rpc

ORGS = {"org-a": "127.0.0.2", "org-b": "127.0.0.3", "org-c": "127.0.0.4", "org-d": "127.0.0.5"}


def hubao(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*HUBAO, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )


def finished(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    return out


@pytest.fixture(scope="module")
def consortium(tmp_path_factory):
    root = tmp_path_factory.mktemp("ceremony")
    orgs, coordinator = root / "orgs", root / "coordinator"
    # 1. each organisation, on its own machine: keys, certificate, public file
    inits = []
    for name, host in ORGS.items():
        folder = orgs / name
        folder.mkdir(parents=True)
        (folder / "password").write_text(f"{name} secret {os.urandom(4).hex()}\n")
        (folder / "password").chmod(0o600)
        port, rpc_port = free_base_port(1, host), free_base_port(1) + 100  # JSON-RPC on 127.0.0.1
        inits.append(hubao("org", "init", "--dir", str(folder), "--name", name, "--host", host,
                           "--p2p-port", str(port), "--rpc-port", str(rpc_port),
                           "--password-file", str(folder / "password"), "--lightkdf", "--json"))  # fmt: skip
    ids = {}
    for proc in inits:
        summary = json.loads(finished(proc))
        ids[summary["name"]] = summary["orgId"]
    # 2. the coordinator has only the public files (as mailed), and publishes its settings
    (coordinator / "public").mkdir(parents=True)
    for name in ORGS:
        shutil.copy(orgs / name / "public.json", coordinator / "public" / f"{name}.json")
    claimant = Account.create()
    settings = ["--genesis-time", str(int(time.time())), "--chain-id", "9191", "--block-period", "0.5",
                "--empty-block-period", "1", "--account", claimant.address]  # fmt: skip
    publics = sorted(map(str, (coordinator / "public").iterdir()))
    coordinating = hubao("net", "genesis", *publics, "--out", str(coordinator / "out"), *settings, "--json")
    # 3. an organisation checks (at the same time): the same files, in another order, same bytes
    checking = hubao("net", "genesis", *reversed(publics), "--out", str(root / "check"), *settings)
    made = json.loads(finished(coordinating))
    finished(checking)
    # 4. each organisation copies its config and the genesis into its folder, opens on its own
    #    loopback-only JSON-RPC what its tools use (evidence, validators), and starts its node
    for name in ORGS:
        for file in ("node.toml", "genesis.json"):
            shutil.copy(coordinator / "out" / name / file, orgs / name / file)
        config = tomllib.loads((orgs / name / "node.toml").read_text())
        config["rpc"]["api"] = ["eth", "net", "web3", "hubao", "qbft"]
        (orgs / name / "node.toml").write_text(tomli_w.dumps(config))
    entries = load_network(coordinator / "out")
    for entry in entries:
        start_node(orgs, entry)
    try:
        wait_for_blocks(orgs, entries, height=1, timeout=90)
        yield {"root": root, "orgs": orgs, "entries": {e.name: e for e in entries}, "claimant": claimant,
               "ids": ids, "made": made}  # fmt: skip
    finally:
        stop_nodes(orgs, entries)


def test_genesis_from_public_files_alone_is_byte_identical_on_rerun(consortium):
    root = consortium["root"]
    made = sorted(
        p.relative_to(root / "coordinator" / "out") for p in (root / "coordinator" / "out").rglob("*")
    )
    again = sorted(p.relative_to(root / "check") for p in (root / "check").rglob("*"))
    assert made == again and len(made) == 2 + 2 * len(ORGS) + len(ORGS)  # files and the per-org folders
    for relative in made:
        if (root / "check" / relative).is_file():
            assert (root / "check" / relative).read_bytes() == (
                root / "coordinator" / "out" / relative
            ).read_bytes()
    # what each organisation read out matches what the coordinator assembled
    assert {o["name"]: o["orgId"] for o in consortium["made"]["organisations"]} == consortium["ids"]


def test_each_organisation_serves_its_own_address_and_the_network_finalises(consortium):
    entries = consortium["entries"]
    assert {e.name: e.host for e in entries.values()} == ORGS
    urls = [e.rpc_url for e in entries.values()]

    def all_at_3():
        heights = [int(rpc(u, "eth_blockNumber"), 16) for u in urls]
        return min(heights) >= 3

    until(all_at_3, what="height 3 everywhere")
    hashes = {rpc(u, "eth_getBlockByNumber", "0x3", False)["hash"] for u in urls}
    assert len(hashes) == 1
    for url in urls:
        assert rpc(url, "net_peerCount") == "0x3"
    validators = rpc(urls[0], "qbft_getValidatorsByBlockNumber", "latest")
    assert sorted(validators) == sorted(e.node_id for e in entries.values())


def _secrets(folder: Path) -> dict[str, bytes]:
    """An organisation's private keys, unlocked as its operator would, as raw bytes."""
    password = (folder / "password").read_text().strip()
    node = Keystore(folder / "keystore" / "node").unlock(None, password)[1]
    admin = Keystore(folder / "keystore" / "admin").unlock(None, password)[1]
    tls = serialization.load_pem_private_key((folder / "tls.key").read_bytes(), password.encode())
    scalar = tls.private_numbers().private_value.to_bytes(32, "big")
    keyfiles = [*(folder / "keystore").rglob("UTC--*"), folder / "tls.key"]
    return {"node key": node, "admin key": admin, "TLS key": scalar} | {
        f"{p.name} (encrypted)": p.read_bytes() for p in keyfiles
    }


def test_no_folder_holds_another_organisations_private_key(consortium):
    root, orgs = consortium["root"], consortium["orgs"]
    secrets = {name: _secrets(orgs / name) for name in ORGS}
    for own in secrets.values():
        assert len({own["node key"], own["admin key"], own["TLS key"]}) == 3
    folders = {name: orgs / name for name in ORGS} | {
        "coordinator": root / "coordinator",
        "check": root / "check",
    }
    for holder, folder in folders.items():
        files = [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size < 10 * 2**20]
        contents = b"\n".join(p.read_bytes() for p in files)
        assert files
        for owner, keys in secrets.items():
            if owner == holder:  # the scan does see what is there: its own encrypted key files
                assert all(v in contents for k, v in keys.items() if k.endswith("(encrypted)"))
                continue
            for label, secret in keys.items():
                for form in {secret, secret.hex().encode(), secret.hex().upper().encode()}:
                    assert form not in contents, f"{holder}'s folder holds {owner}'s {label}"


def _upload(signer, bundle: Bundle, blob: bytes, **changes) -> dict:
    """`hubao_putEvidence`'s one parameter, signed by `signer` on the test chain (9191)."""
    return {**Upload.sign(signer.key, 9191, bundle.root, blob).to_json(), **changes}


def test_evidence_uploads_are_signed_by_an_allowlisted_account_and_bound_to_their_root(consortium):
    entries, claimant, orgs = consortium["entries"], consortium["claimant"], consortium["orgs"]
    investigator, stranger = Account.create(), Account.create()
    bundle = Bundle({"diagnosis.pdf": b"%PDF acute myocardial infarction" * 40, "bill.png": os.urandom(2000)})
    blob = bundle.seal_for([public_key_of(bytes(claimant.key)), public_key_of(bytes(investigator.key))])
    evidence_root = "0x" + bundle.root.hex()
    url, other = entries["org-b"].rpc_url, entries["org-c"].rpc_url

    def refusal(*params) -> tuple[int, str]:
        with pytest.raises(RuntimeError) as refused:
            rpc(url, "hubao_putEvidence", *params)
        return refused.value.args[:2]

    code, message = refusal(evidence_root, "0x" + blob.hex())  # the old unsigned call
    assert code == -32602 and "unsigned evidence upload" in message
    code, message = refusal(_upload(stranger, bundle, blob))
    assert (
        code == -32000 and f"evidence uploader {stranger.address} is not on the account allowlist" in message
    )
    code, message = refusal(_upload(stranger, bundle, blob, **{"from": claimant.address}))
    assert code == -32602 and f"signed by {stranger.address}, not by {claimant.address}" in message
    elsewhere = Bundle({"other.txt": b"another claim's file"})
    mismatched = Upload.sign(claimant.key, 9191, elsewhere.root, blob).to_json()  # signed, wrong root
    code, message = refusal(mismatched)
    assert (
        code == -32602
        and f"holds evidence with root {evidence_root}, not 0x{elsewhere.root.hex()}" in message
    )
    replayed = _upload(claimant, bundle, blob, root="0x" + elsewhere.root.hex())
    assert refusal(replayed)[0] == -32602
    for changes, words in [
        ({"root": "0x1234"}, "32 bytes"),
        ({"envelope": "0x" + b"not an envelope".hex()}, "not an evidence envelope"),
        ({"envelope": "nothex"}, "0x-prefixed hex"),
    ]:
        code, message = refusal(_upload(claimant, bundle, blob, **changes))
        assert code == -32602 and words in message, message
    assert rpc(url, "hubao_getEvidence", evidence_root) == []  # nothing refused was kept

    blob_id = rpc(url, "hubao_putEvidence", _upload(claimant, bundle, blob))
    for entry in entries.values():
        stored = until(lambda e=entry: rpc(e.rpc_url, "hubao_getEvidence", evidence_root), what=entry.name)
        assert [(s["from"], s["envelope"]) for s in stored] == [(claimant.address, "0x" + blob.hex())]
    assert (orgs / "org-d" / "data" / "evidence" / evidence_root / blob_id).exists()
    # another allowlisted account (an organisation's admin) cannot take the claimant's envelope over
    admin = json.loads((orgs / "org-a" / "public.json").read_text())["admin"]
    password = (orgs / "org-a" / "password").read_text().strip()
    _, admin_key = Keystore(orgs / "org-a" / "keystore" / "admin").unlock(admin, password)
    taken = Upload.sign(admin_key, 9191, bundle.root, blob).to_json()
    with pytest.raises(RuntimeError, match=f"already filed by {claimant.address}"):
        rpc(other, "hubao_putEvidence", taken)


def test_evidence_survives_the_loss_of_the_node_it_was_put_to(consortium):
    """Runs last: org-a's node is killed; the other three keep the chain and the evidence."""
    entries, claimant, orgs = consortium["entries"], consortium["claimant"], consortium["orgs"]
    investigator, stranger = Account.create(), Account.create()
    bundle = Bundle({"scan.png": os.urandom(3000)})
    blob = bundle.seal_for([public_key_of(bytes(claimant.key)), public_key_of(bytes(investigator.key))])
    evidence_root = "0x" + bundle.root.hex()
    rpc(entries["org-a"].rpc_url, "hubao_putEvidence", _upload(claimant, bundle, blob))
    until(lambda: rpc(entries["org-d"].rpc_url, "hubao_getEvidence", evidence_root), what="replicated")
    os.kill(pid_of(orgs / "org-a"), signal.SIGKILL)
    served = rpc(entries["org-c"].rpc_url, "hubao_getEvidence", evidence_root)
    blobs = [bytes.fromhex(s["envelope"][2:]) for s in served]
    opened = open_readable(blobs, bytes(investigator.key))
    assert opened.files == bundle.files and opened.check_against(bundle.root) == []
    with pytest.raises(NotAReader):
        open_readable(blobs, bytes(stranger.key))
    height = int(rpc(entries["org-b"].rpc_url, "eth_blockNumber"), 16)
    until(
        lambda: int(rpc(entries["org-b"].rpc_url, "eth_blockNumber"), 16) >= height + 2,
        what="3 of 4 finalise",
    )
