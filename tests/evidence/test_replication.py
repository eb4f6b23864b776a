"""The consortium's evidence store on a real 4-validator network (`hubao net up`, one process per
node): evidence put to one node is kept by every node, is still served after that node is killed,
and bad input is refused with -32602 while the node keeps its data and keeps running."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from eth_keys import keys

from consortium.evidence.bundle import Bundle, open_readable
from consortium.evidence.envelope import NotAReader, public_key_of
from consortium.network.layout import free_base_port, load_network
from consortium.network.processes import pid_of
from tests.support.processes import HUBAO, ROOT, rpc


def hubao(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*HUBAO, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence-net")
    base = free_base_port(4)
    init = hubao(
        "net", "init", "--validators", "4", "--dir", str(root), "--base-port", str(base), "--users", "0"
    )
    assert init.returncode == 0, init.stderr
    up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90")
    try:
        assert up.returncode == 0, up.stderr + (root / "validator-0" / "node.log").read_text()[-2000:]
        yield root, {e.name: e for e in load_network(root)}
    finally:
        hubao("net", "down", "--dir", str(root))


def _stored(root, name: str, evidence_root: str) -> list:
    return sorted((root / name / "data" / "evidence" / evidence_root).glob("0x*"))


def _wait(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_evidence_is_replicated_and_survives_a_node_loss(network):
    root, nodes = network
    claimant, investigator, stranger = (keys.PrivateKey(os.urandom(32)) for _ in range(3))
    bundle = Bundle({"diagnosis.pdf": b"%PDF acute myocardial infarction" * 40, "bill.png": os.urandom(2000)})
    blob = bundle.seal_for([public_key_of(claimant.to_bytes()), public_key_of(investigator.to_bytes())])
    evidence_root = "0x" + bundle.root.hex()

    first = nodes["validator-0"]
    blob_id = rpc(first.rpc_url, "hubao_putEvidence", evidence_root, "0x" + blob.hex())
    assert all(
        _wait(lambda n=name: _stored(root, n, evidence_root))
        for name in ("validator-1", "validator-2", "validator-3")
    ), "evidence did not reach every node"
    assert _stored(root, "validator-3", evidence_root)[0].name == blob_id

    os.kill(pid_of(root / "validator-0"), signal.SIGKILL)  # the node it was put to is lost
    served = rpc(nodes["validator-2"].rpc_url, "hubao_getEvidence", evidence_root)
    blobs = [bytes.fromhex(b[2:]) for b in served]
    assert blobs == [blob]
    opened = open_readable(blobs, investigator.to_bytes())
    assert opened.files == bundle.files and opened.check_against(bundle.root) == []
    with pytest.raises(NotAReader):
        open_readable(blobs, stranger.to_bytes())

    # bad input: one clear error each, nothing lost, the node keeps serving
    other = nodes["validator-1"].rpc_url
    for params, words in [
        (["0x1234", "0x" + blob.hex()], "evidence root"),
        ([evidence_root, "0x" + b"not an envelope".hex()], "not an evidence envelope"),
        ([evidence_root, "nothex"], "0x-prefixed hex"),
    ]:
        with pytest.raises(RuntimeError) as refused:
            rpc(other, "hubao_putEvidence", *params)
        code, message, _ = refused.value.args
        assert code == -32602 and words in message
    assert [bytes.fromhex(b[2:]) for b in rpc(other, "hubao_getEvidence", evidence_root)] == [blob]
    assert rpc(other, "hubao_getEvidence", "0x" + "ab" * 32) == []
