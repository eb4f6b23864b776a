"""eth_getProof: a member's record in the real suite (the pool keeps it for Membership in the
member's one slot), proven against the block's state root with py-trie (the trie library py-evm
uses, not this node's prover), through web3.py (sync and async) and ethers v6; so anyone can check
the record without trusting the node."""

from __future__ import annotations

import asyncio
import json
import subprocess

import pytest
import rlp
from eth_utils import keccak
from trie.exceptions import BadTrieProof
from web3 import AsyncHTTPProvider, AsyncWeb3

from harness.processes import ROOT, rpc
from tests.support.members import applicant
from tests.support.proofs import proven, verify_account, verify_slots

EMPTY_CODE = keccak(b"")


@pytest.fixture(scope="module")
def member_record(w3, tmp_path_factory):
    """The suite deployed, one member joined; the slot of its record in the pool, which keeps it
    for Membership in the member's one slot (found by matching Membership's own getter against
    the slot's top 96 bits), and the block it is proven at."""
    joining = applicant(w3, tmp_path_factory.mktemp("suite") / "deployment.json")
    me, member = joining.me, joining.address
    me.membership.join(joining.attestation, joining.signature, joining.mandate)
    joined_at, cover_ends, tier, status = me.membership.member(member)
    record = joined_at | cover_ends << 40 | tier << 80 | status << 88
    address = me.pool.address
    for index in range(64):
        slot = keccak(bytes(12) + bytes.fromhex(member[2:]) + index.to_bytes(32, "big"))
        packed = int.from_bytes(w3.eth.get_storage_at(address, slot), "big")
        if packed >> 160 == record:
            return address, slot, packed, w3.eth.block_number
    raise AssertionError("no slot of the pool holds the member's record")


def test_a_members_record_proves_against_the_state_root(w3, member_record):
    pool, slot, packed, block = member_record
    absent = b"\x01" * 32
    answer = w3.eth.get_proof(pool, [slot, absent], block)
    root = w3.eth.get_block(block).stateRoot
    storage_root, code_hash = verify_account(root, answer)
    assert code_hash == keccak(w3.eth.get_code(pool, block))
    assert verify_slots(storage_root, answer) == [packed, 0]  # the record, and a proof of absence
    assert answer["storageProof"][0]["key"] == slot and len(answer["accountProof"]) >= 2
    forged = list(answer["storageProof"][0]["proof"])
    forged[-1] = bytes(forged[-1])[:-1] + bytes([bytes(forged[-1])[-1] ^ 1])
    with pytest.raises(BadTrieProof):
        proven(storage_root, slot, forged)


def test_proofs_of_the_past_and_of_nothing_through_async_web3(node, member_record):
    """web3's async client has no get_proof; its users send the request through the provider."""
    pool, slot, packed, block = member_record

    async def get_proof(aw3, address: str, keys: list, at: int):
        reply = await aw3.provider.make_request("eth_getProof", [address, keys, hex(at)])
        raw = reply["result"]
        fields = {k: int(raw[k], 16) for k in ("balance", "nonce")}
        fields |= {k: bytes.fromhex(raw[k][2:]) for k in ("codeHash", "storageHash")}
        slots = [
            {"key": bytes.fromhex(e["key"][2:].rjust(64, "0")), "value": int(e["value"], 16),
             "proof": [bytes.fromhex(p[2:]) for p in e["proof"]]}
            for e in raw["storageProof"]
        ]  # fmt: skip
        return {
            **raw,
            **fields,
            "accountProof": [bytes.fromhex(p[2:]) for p in raw["accountProof"]],
            "storageProof": slots,
        }

    async def check() -> None:
        aw3 = AsyncWeb3(AsyncHTTPProvider(node.url))
        earlier = block - 1  # before the member joined: no record, but the contract was there
        answer = await get_proof(aw3, pool, ["0x" + slot.hex()], earlier)
        root = (await aw3.eth.get_block(earlier)).stateRoot
        storage_root, _ = verify_account(root, answer)
        assert verify_slots(storage_root, answer) == [0]
        nobody = "0x" + keccak(b"an account no test touches")[:20].hex()  # tests/rpc share one node
        missing = await get_proof(aw3, nobody, ["0x0"], block)
        root = (await aw3.eth.get_block(block)).stateRoot
        assert proven(root, bytes.fromhex(nobody[2:]), missing["accountProof"]) == b""  # proven absent
        assert (missing["balance"], missing["nonce"]) == (0, 0)
        assert missing["codeHash"] == missing["storageHash"] == bytes(32)  # geth: zero hashes
        assert missing["storageProof"][0]["proof"] == [] and missing["storageProof"][0]["value"] == 0

    asyncio.run(check())


ETHERS = r"""
const { ethers } = require("ethers");
(async () => {
  const [url, address, slot, block] = process.argv.slice(2);
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true });
  const proof = await provider.send("eth_getProof", [address, [slot], block]);
  const header = await provider.send("eth_getBlockByNumber", [block, false]);
  console.log(JSON.stringify({ proof, stateRoot: header.stateRoot }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_the_same_proof_through_ethers(node, member_record, tmp_path):
    pool, slot, packed, block = member_record
    script = tmp_path / "proof.js"
    script.write_text(ETHERS)
    env = {"NODE_PATH": str(ROOT / "node_modules"), "PATH": "/usr/bin:/bin:/usr/local/bin"}
    args = ["node", str(script), node.url, pool, "0x" + slot.hex(), hex(block)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    proof = got["proof"]
    assert proof == rpc(node.url, "eth_getProof", pool, ["0x" + slot.hex()], hex(block))
    account = rlp.decode(proven(bytes.fromhex(got["stateRoot"][2:]), bytes.fromhex(pool[2:]),
                                [bytes.fromhex(p[2:]) for p in proof["accountProof"]]))  # fmt: skip
    entry = proof["storageProof"][0]
    raw = proven(account[2], slot, [bytes.fromhex(p[2:]) for p in entry["proof"]])
    assert int.from_bytes(rlp.decode(raw), "big") == packed == int(entry["value"], 16)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["0x0"] * 1025, "too many storage keys requested (max 1024, got 1025)"),
        (["0xzz"], 'invalid hex in storage key: "0xzz"'),
        (["0x" + "11" * 33], "storage key too long (want at most 32 bytes)"),
        ("0x0", "storage keys must be an array"),
    ],
)
def test_bad_proof_requests_are_refused(node, keys, message):
    with pytest.raises(RuntimeError) as refused:
        rpc(node.url, "eth_getProof", "0x" + "00" * 20, keys, "latest")
    code, text, _ = refused.value.args
    assert code == -32602 and message in text
