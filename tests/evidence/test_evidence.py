"""Evidence: the on-chain root catches one changed byte, its salted leaves tell a guesser nothing,
only the chosen readers can decrypt, and an upload is bound to its signer, its root and its chain."""

import os

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys
from eth_utils import keccak

from consortium.evidence.bundle import Bundle
from consortium.evidence.envelope import CorruptEnvelope, Envelope, NotAReader, public_key_of
from consortium.evidence.merkle import Manifest, leaf_hash, new_salts, read_salts
from consortium.evidence.store import EvidenceError, EvidenceStore
from consortium.evidence.upload import Upload, UploadRefused, upload_digest


def _files():
    return {
        "diagnosis.pdf": b"%PDF malignant tumour, stage II" * 50,
        "bill.png": os.urandom(3000),
        "id.txt": b"x",
    }


def test_one_changed_byte_changes_the_root_and_is_named():
    files = _files()
    salts = new_salts(files)
    original = Manifest.of_contents(files.items(), salts)
    tampered = dict(files)
    tampered["bill.png"] = bytes([files["bill.png"][0] ^ 1]) + files["bill.png"][1:]
    changed = Manifest.of_contents(tampered.items(), salts)
    assert changed.root != original.root
    assert changed.differences(original) == ["bill.png: content differs"]
    assert Manifest.of_contents(reversed(list(files.items())), salts).root == original.root  # order-free


def test_missing_and_extra_files_are_named():
    files = _files()
    salts = new_salts([*files, "new.txt"])
    original = Manifest.of_contents(files.items(), salts)
    fewer = Manifest.of_contents(
        [(n, d) for n, d in files.items() if n != "id.txt"] + [("new.txt", b"1")], salts
    )
    assert sorted(fewer.differences(original)) == ["id.txt: missing", "new.txt: not part of the evidence"]
    with pytest.raises(ValueError, match="stray.txt: not part of the evidence"):
        Manifest.of_contents([("stray.txt", b"?")], salts)


def test_salted_leaves_cannot_be_confirmed_by_guessing_but_a_reader_checks_them():
    """The simulator's files are guessable (`patient 17: illness 42`): without the salt a guess
    matches no public leaf; with the salts file a reader recomputes the root exactly."""
    guessable = b"patient 17: illness 42"
    bundle = Bundle.of_named([("diagnosis.txt", guessable)])
    public = Envelope.from_bytes(bundle.seal_for([public_key_of(os.urandom(32))])).leaves
    guesses = {leaf_hash(guessable, bytes(32)), leaf_hash(guessable, b"\x01" * 32)}
    assert public == (bundle.manifest.entries[0][1],) and not guesses & set(public)
    assert Bundle.of_named([("diagnosis.txt", guessable)]).root != bundle.root  # a fresh salt each time
    salts, manifest = read_salts(bundle.salts_json())
    assert Manifest.of_contents([("diagnosis.txt", guessable)], salts).root == manifest.root == bundle.root


def test_only_readers_can_open_and_tampering_is_caught(tmp_path):
    claimant, investigator, stranger = (os.urandom(32) for _ in range(3))
    bundle = Bundle(_files())
    blob = bundle.seal_for([public_key_of(claimant), public_key_of(investigator)])

    opened = Bundle.open(blob, investigator)
    assert opened.files == bundle.files and opened.salts == bundle.salts  # readers get the salts
    assert Bundle.open(blob, claimant).root == bundle.root
    with pytest.raises(NotAReader, match=keys.PrivateKey(stranger).public_key.to_checksum_address()):
        Bundle.open(blob, stranger)

    envelope = Envelope.from_bytes(blob)
    flipped = bytearray(envelope.ciphertext)
    flipped[10] ^= 0xFF
    altered = Envelope(envelope.readers, envelope.nonce, bytes(flipped)).to_bytes()
    with pytest.raises(CorruptEnvelope):
        Bundle.open(altered, investigator)


def test_upload_signature_is_eip712_and_binds_root_envelope_and_chain():
    claimant = Account.create()
    root, envelope = os.urandom(32), b'{"version":2}'
    upload = Upload.sign(claimant.key, 8282, root, envelope)
    assert upload.uploader == claimant.address and upload.signer(8282) == claimant.address
    # the same digest as a wallet's eth_signTypedData_v4 of the documented type
    typed = encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                ],
                "EvidenceUpload": [
                    {"name": "root", "type": "bytes32"},
                    {"name": "envelope", "type": "bytes32"},
                ],
            },
            "primaryType": "EvidenceUpload",
            "domain": {"name": "Hubao evidence", "version": "1", "chainId": 8282},
            "message": {"root": root, "envelope": keccak(envelope)},
        }
    )
    assert Account.sign_message(typed, claimant.key).signature == upload.signature
    assert upload_digest(8282, root, envelope) != upload_digest(8283, root, envelope)
    assert upload.signer(8283) != claimant.address  # replayed on another chain: someone else
    moved = Upload(os.urandom(32), envelope, upload.uploader, upload.signature)
    assert moved.signer(8282) != claimant.address  # moved to another root: someone else
    assert Upload.from_json(upload.to_json(), 1024) == upload
    for bad, words in [
        ("0xabcd", "unsigned evidence upload"),
        ({**upload.to_json(), "signature": "0x12"}, "65 bytes"),
        ({k: v for k, v in upload.to_json().items() if k != "from"}, "lacks from"),
        ({**upload.to_json(), "root": "0x1234"}, "32 bytes"),
        ({**upload.to_json(), "envelope": "nothex"}, "0x-prefixed hex"),
    ]:
        with pytest.raises(UploadRefused, match=words):
            Upload.from_json(bad, 1024)


def test_store_is_content_addressed_records_the_uploader_and_refuses_junk(tmp_path):
    store = EvidenceStore(tmp_path)
    claimant, other = Account.create(), Account.create()
    bundle = Bundle(_files())
    root = "0x" + bundle.root.hex()
    blob = bundle.seal_for([public_key_of(bytes(claimant.key))])
    upload = Upload.sign(claimant.key, 1, bundle.root, blob)
    blob_id = store.put(upload)
    assert store.put(upload) == blob_id  # idempotent
    assert store.get(root) == [upload]  # who uploaded it and their signature, with the envelope
    with pytest.raises(EvidenceError, match=f"already filed by {claimant.address}"):
        store.put(Upload.sign(other.key, 1, bundle.root, blob))

    path = tmp_path / root / blob_id
    path.write_bytes(path.read_bytes().replace(b"ciphertext", b"Ciphertext"))  # a damaged copy
    assert store.get(root) == []

    with pytest.raises(EvidenceError, match="64 hex"):
        store.get("0x1234")
    with pytest.raises(CorruptEnvelope):
        store.put(Upload.sign(claimant.key, 1, bundle.root, b"not an envelope"))
