"""One member cannot fill the nodes' disks nor bury a claim's evidence (issue 16, evidence).

A 4-validator network with a member node; every node keeps evidence with node.toml
`[evidence] uploader_mib = 6`, validator-3 with a free-disk floor it can never meet. Allowlisted
accounts upload what the bounds refuse: a fifth envelope under one root (per_root_per_uploader),
more than their 6 MiB (uploader_mib), an envelope with `readers: {}` (the schema), anything at all
on the node whose disk is "full" (min_free_disk_mib; it keeps serving, logging each peer's
replicated uploads once), and a peer gossips junk evidence (punished). Five envelopes of 1.9 MB
under one root (19 MB, more than a p2p frame) reach the member node started afterwards, in
pages, over the same links. A fake bundle and a corrupt envelope filed under the claim's root by a
stranger, both sorting before the real one, change nothing: the investigator reads the claimant's.
Meanwhile JSON-RPC answers within 200 ms p99, blocks keep their rate and a transaction commits.
"""

from __future__ import annotations

import asyncio
import json
import os
from types import SimpleNamespace

import pytest
from eth_utils import keccak
from web3 import Web3

from consortium.evidence.bundle import Bundle, open_readable
from consortium.evidence.client import EvidenceClient
from consortium.evidence.envelope import Envelope, public_key_of, seal
from consortium.evidence.readers import account, open_filed
from harness.attacks import Uploader, corrupted, gossip_junk, without_readers
from harness.peernet import attacker, log_lines, pid, start_network
from harness.probes import LatencyProbe, rss_mib, wait_for_blocks
from harness.processes import rpc

FULL_DISK = 100_000_000  # MiB: validator-3's floor, more than any disk has


def configure(name: str, toml: dict) -> None:
    toml["evidence"] = {"uploader_mib": 6} | (
        {"min_free_disk_mib": FULL_DISK} if name == "validator-3" else {}
    )


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net = start_network(tmp_path_factory.mktemp("evidence"), members=1, configure=configure, users=5)
    try:
        net.stop("member-0")
        yield net
    finally:
        net.down()


def refusal(url: str, upload: dict) -> tuple[int, str]:
    with pytest.raises(RuntimeError) as refused:
        rpc(url, "hubao_putEvidence", upload)
    return refused.value.args[0], refused.value.args[1]


def sorting_first(make, before: str) -> bytes:
    """An envelope from `make()` whose id sorts before `before` (so a reader meets it first)."""
    while True:
        envelope = make()
        if "0x" + keccak(envelope).hex() < before:
            return envelope


def prepare(net) -> SimpleNamespace:
    """Everything the uploaders send, sealed and signed before the clock runs (the probe shares
    this process: its latency must be the node's, not the sealing's)."""
    claimant, other, small, stranger = (Uploader(net.accounts["users"][i], net.chain_id) for i in range(4))
    investigator = os.urandom(32)
    readers = [public_key_of(investigator), public_key_of(claimant.key)]
    bundle = Bundle.of_named([("scan.bin", os.urandom(700_000))])
    sealed = [bundle.seal_for(readers) for _ in range(5)]  # 1.9 MB each, one root
    assert all(1_800_000 < len(e) < 2 * 1024 * 1024 for e in sealed)
    first = min("0x" + keccak(e).hex() for e in sealed)
    more = Bundle.of_named([("more.bin", os.urandom(700_000))])
    tiny = Bundle.of_named([("note.txt", b"small")])
    empty = without_readers(tiny.seal_for(readers))
    fake = Bundle.of_named([("scan.bin", b"forged")])
    forged = sorting_first(
        lambda: seal(fake_body(fake), [readers[0]], leaves_of(sealed[0])).to_bytes(), first
    )
    corrupt = sorting_first(lambda: corrupted(sealed[0]), first)
    big = [claimant.upload(bundle.root, e) for e in sealed[:3]] + [
        other.upload(bundle.root, e) for e in sealed[3:]
    ]
    return SimpleNamespace(
        claimant=claimant.address, investigator=investigator, bundle=bundle,
        stored=[*sealed, forged, corrupt], big=big,
        uploader=claimant.upload(more.root, more.seal_for(readers)),
        tiny=[small.upload(tiny.root, tiny.seal_for(readers)) for _ in range(5)],
        schema=stranger.upload(tiny.root, empty),
        disk=stranger.upload(tiny.root, tiny.seal_for(readers)),
        junk=[stranger.upload(bundle.root, forged), stranger.upload(bundle.root, corrupt)],
    )  # fmt: skip


def test_quotas_schema_disk_guard_pages_and_readers(net):
    v0, v1, v3 = net.url("validator-0"), net.url("validator-1"), net.url("validator-3")
    sends = prepare(net)
    bundle, investigator = sends.bundle, sends.investigator
    # five big envelopes under one root from two accounts, through validator-1: 19 MB, more than
    # one p2p frame holds, for the member node to fetch at the end
    for upload in sends.big:
        rpc(v1, "hubao_putEvidence", upload)
    folder = net.root / "validator-0" / "data" / "evidence" / ("0x" + bundle.root.hex())
    net.wait(lambda: len(list(folder.glob("0x*"))) == 5, 20, "the copies on validator-0")
    normal = wait_for_blocks(v0, 3, 30) / 3
    rss_before = rss_mib(pid(net, "validator-0"))
    found: dict = {}
    with LatencyProbe(v0) as probe:
        tx = net.send_tx("validator-0", net.accounts["users"][4]["privateKey"], "0x" + "44" * 20, 1)
        found["uploader"] = refusal(v1, sends.uploader)  # 3 x 1.9 MB used of its 6 MiB
        for upload in sends.tiny[:4]:
            rpc(v1, "hubao_putEvidence", upload)
        found["per root"] = refusal(v1, sends.tiny[4])  # a fifth under one root
        found["schema"] = refusal(v1, sends.schema)  # an envelope nobody can read
        found["disk"] = refusal(v3, sends.disk)  # the node whose disk is "full"
        peer = attacker(net, "member-0", dial="validator-0")
        found["punished"] = asyncio.run(gossip_junk(peer, sends.schema))  # a peer gossiping junk
        for upload in sends.junk:  # a fake bundle (the real leaves) and a corrupt one, met first
            rpc(v1, "hubao_putEvidence", upload)
        net.wait(lambda: len(list(folder.glob("0x*"))) == 7, 20, "the copies on validator-0")
        evidence = EvidenceClient(Web3(Web3.HTTPProvider(v0, request_kwargs={"timeout": 30})))
        found["read"] = open_filed(evidence, bundle.root, account(sends.claimant), investigator, "claim")
        found["receipt"] = net.receipt("validator-0", tx)
        found["during"] = wait_for_blocks(v0, 5, 30) / 5  # and after: the probe keeps asking
    grown = rss_mib(pid(net, "validator-0")) - rss_before
    # the member node, started now, fetches the root it lacks from its peers, page by page
    net.start("member-0")
    net.wait(
        lambda: net.height("member-0") is not None and peers(net, "member-0") >= 3, 30, "member-0 linked"
    )
    member = EvidenceClient(Web3(Web3.HTTPProvider(net.url("member-0"), request_kwargs={"timeout": 60})))
    fetched = member.uploads(bundle.root)
    shown = {k: found[k] for k in ("uploader", "per root", "schema", "disk")}
    print(f"evidence: {shown}, p99 {probe.p99() * 1000:.0f} ms, rss +{grown:.1f} MiB, fetched {len(fetched)}")
    assert found["uploader"][0] == -32005 and "has used its evidence quota" in found["uploader"][1]
    assert found["per root"][0] == -32005 and "filed 4 envelopes under" in found["per root"][1]
    assert found["schema"] == (-32602, "evidence envelope must name 1 to 256 readers")
    assert found["disk"][0] == -32005 and f"keeps {FULL_DISK} MiB of its disk free" in found["disk"][1]
    assert found["punished"]
    assert found["read"].files == bundle.files and found["read"].check_against(bundle.root) == []
    unfiltered = open_readable([u.envelope for u in fetched], investigator, "claim", bundle.root)
    assert unfiltered.files == bundle.files  # the root alone already tells the real one
    assert sorted(u.envelope for u in fetched) == sorted(sends.stored)
    assert (
        not log_lines(net, "member-0", "frame length") and int(net.call("member-0", "net_peerCount"), 16) >= 3
    )
    refused = log_lines(net, "validator-3", "refused evidence from")
    assert refused and len(refused) == len({line.split("refused evidence from ")[1][:42] for line in refused})
    assert (
        int(net.call("validator-3", "eth_blockNumber"), 16)
        >= int(net.call("validator-0", "eth_blockNumber"), 16) - 2
    )
    assert found["receipt"]["status"] == "0x1"
    assert found["during"] < 2 * normal + 0.5, (normal, found["during"])
    assert probe.errors == 0 and probe.p99() < 0.2
    assert grown < 100


def peers(net, name: str) -> int:
    return int(net.call(name, "net_peerCount"), 16)


def leaves_of(envelope: bytes) -> tuple[bytes, ...]:
    return Envelope.from_bytes(envelope).leaves


def fake_body(bundle: Bundle) -> bytes:
    """A bundle's sealed body, as `Bundle.seal_for` writes it (files, salts, its own manifest)."""
    import base64

    return json.dumps({
        "kind": "claim", "manifest": bundle.manifest.to_json(),
        "files": {n: base64.b64encode(d).decode() for n, d in bundle.files.items()},
        "salts": {n: s.hex() for n, s in bundle.salts.items()},
    }, sort_keys=True).encode()  # fmt: skip
