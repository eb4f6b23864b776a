"""Evidence: the on-chain root catches one changed byte, and only the chosen readers can decrypt."""

import os

import pytest
from eth_keys import keys

from consortium.evidence.bundle import Bundle
from consortium.evidence.envelope import CorruptEnvelope, Envelope, NotAReader, public_key_of
from consortium.evidence.merkle import Manifest
from consortium.evidence.store import EvidenceError, EvidenceStore


def _files():
    return {
        "diagnosis.pdf": b"%PDF malignant tumour, stage II" * 50,
        "bill.png": os.urandom(3000),
        "id.txt": b"x",
    }


def test_one_changed_byte_changes_the_root_and_is_named():
    files = _files()
    original = Manifest.of_contents(files.items())
    tampered = dict(files)
    tampered["bill.png"] = bytes([files["bill.png"][0] ^ 1]) + files["bill.png"][1:]
    changed = Manifest.of_contents(tampered.items())
    assert changed.root != original.root
    assert changed.differences(original) == ["bill.png: content differs"]
    assert Manifest.of_contents(reversed(list(files.items()))).root == original.root  # order-independent


def test_missing_and_extra_files_are_named():
    files = _files()
    original = Manifest.of_contents(files.items())
    fewer = Manifest.of_contents([(n, d) for n, d in files.items() if n != "id.txt"] + [("new.txt", b"1")])
    assert sorted(fewer.differences(original)) == ["id.txt: missing", "new.txt: not part of the evidence"]


def test_only_readers_can_open_and_tampering_is_caught(tmp_path):
    claimant, investigator, stranger = (os.urandom(32) for _ in range(3))
    bundle = Bundle(_files())
    blob = bundle.seal_for([public_key_of(claimant), public_key_of(investigator)])

    assert Bundle.open(blob, investigator).files == bundle.files
    assert Bundle.open(blob, claimant).root == bundle.root
    with pytest.raises(NotAReader, match=keys.PrivateKey(stranger).public_key.to_checksum_address()):
        Bundle.open(blob, stranger)

    envelope = Envelope.from_bytes(blob)
    flipped = bytearray(envelope.ciphertext)
    flipped[10] ^= 0xFF
    altered = Envelope(envelope.readers, envelope.nonce, bytes(flipped)).to_bytes()
    with pytest.raises(CorruptEnvelope):
        Bundle.open(altered, investigator)


def test_store_is_content_addressed_and_refuses_junk(tmp_path):
    store = EvidenceStore(tmp_path)
    reader = os.urandom(32)
    bundle = Bundle(_files())
    root = "0x" + bundle.root.hex()
    blob = bundle.seal_for([public_key_of(reader)])
    blob_id = store.put(root, blob)
    assert store.put(root, blob) == blob_id  # idempotent
    assert store.get(root) == {blob_id: blob}

    (tmp_path / root / blob_id).write_bytes(
        blob.replace(b"ciphertext", b"Ciphertext")
    )  # a damaged copy is not served
    assert store.get(root) == {}

    with pytest.raises(EvidenceError, match="64 hex"):
        store.put("0x1234", blob)
    with pytest.raises(CorruptEnvelope):
        store.put(root, b"not an envelope")
