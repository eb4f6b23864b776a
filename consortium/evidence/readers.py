"""Who may read evidence, and where their encryption keys come from.

Readers are Ethereum accounts; evidence is sealed to their secp256k1 public keys.
- The claimant (or objector): their own key, in their wallet.
- Investigators: each investigator publishes the public key of the account that holds
  INVESTIGATOR_ROLE into the deployment file (`hubao operator publish-key`), under
  "evidence_readers". The file is only a directory: a wallet seals to a key only after checking
  on chain that the key's address holds INVESTIGATOR_ROLE, so an edited file cannot add a reader.
- Jurors of a disputed case: their public keys are recovered from the signature of the
  transaction they joined with (every member who joined through a wallet signed one), so jurors
  publish nothing. The investigator seals the redacted jury copy to them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import coincurve
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address

from node.files import atomic_write

from .bundle import Bundle, open_readable
from .envelope import address_of_public_key

FIELD = "evidence_readers"


class ReaderError(Exception):
    """No usable reader key (nobody published one, or the published one holds no role)."""


def publish_reader(deployment_path: str | Path, public_key: bytes) -> str:
    """Add an investigator's public key to the deployment file (atomic rewrite); returns its address."""
    path = Path(deployment_path)
    data = json.loads(path.read_text())
    address = address_of_public_key(public_key)
    entries = [e for e in data.get(FIELD, []) if e.get("address") != address]
    entries.append({"address": address, "public_key": "0x" + public_key.hex(), "role": "investigator"})
    data[FIELD] = entries
    atomic_write(path, json.dumps(data, indent=2) + "\n", mode=0o644)
    return address


def investigator_keys(deployment_path: str | Path, suite) -> list[bytes]:
    """Published investigator keys whose accounts hold INVESTIGATOR_ROLE now, checked on chain."""
    data = json.loads(Path(deployment_path).read_text())
    keys = []
    for entry in data.get(FIELD, []):
        public_key = bytes.fromhex(entry["public_key"].removeprefix("0x"))
        if suite.claims.is_investigator(address_of_public_key(public_key)):
            keys.append(public_key)
    if not keys:
        raise ReaderError(
            f"no investigator has published an evidence key in {deployment_path} "
            "(an investigator runs `hubao operator publish-key`), so nobody could review this claim"
        )
    return keys


def public_key_from_transaction(w3, tx_hash) -> bytes:
    """The sender's 64-byte public key, recovered from a typed (EIP-2718) transaction's signature."""
    tx = w3.eth.get_transaction(tx_hash)
    fields = {
        "type": tx["type"],
        "chainId": tx["chainId"],
        "nonce": tx["nonce"],
        "gas": tx["gas"],
        "to": tx["to"],
        "value": tx["value"],
        "data": tx["input"],
        "accessList": tx.get("accessList", []),
    }
    if tx["type"] == 2:
        fields["maxFeePerGas"] = tx["maxFeePerGas"]
        fields["maxPriorityFeePerGas"] = tx["maxPriorityFeePerGas"]
    elif tx["type"] == 1:
        fields["gasPrice"] = tx["gasPrice"]
    else:
        raise ReaderError(f"transaction {tx_hash.hex()} is not a typed transaction")
    digest = TypedTransaction.from_dict(fields).hash()
    y_parity = tx.get("yParity", tx["v"])
    signature = int(tx["r"].hex(), 16).to_bytes(32, "big") + int(tx["s"].hex(), 16).to_bytes(32, "big")
    public = coincurve.PublicKey.from_signature_and_message(
        signature + bytes([int(y_parity)]), digest, hasher=None
    ).format(compressed=False)[1:]
    sender = to_checksum_address(keccak(public)[12:])
    if sender != to_checksum_address(tx["from"]):
        raise ReaderError(f"could not recover the key of {tx['from']} from {tx_hash.hex()}")
    return public


def member_public_key(suite, member: str) -> bytes | None:
    """A member's public key from the transaction they joined with (None if an enroller batch-joined them)."""
    joined = suite.membership.events("MemberJoined", from_block=suite.deployment.block, member=member)
    for event in joined:
        tx = suite.w3.eth.get_transaction(event["transactionHash"])
        if to_checksum_address(tx["from"]) == to_checksum_address(member):
            return public_key_from_transaction(suite.w3, event["transactionHash"])
    return None


def filed_by(uploads: list, accept: Callable[[str], bool]) -> list[bytes]:
    """The envelopes of the uploads whose uploader `accept(address)` admits, in the store's order."""
    return [u.envelope for u in uploads if accept(to_checksum_address(u.uploader))]


def open_filed(
    evidence, root: bytes, filer: Callable[[str], bool], private_key: bytes, kind: str | None
) -> Bundle:
    """What a reader opens under `root`: an envelope that the party who should have filed it filed
    (`filer(address)`: the claimant its claim, an objector its objection, an investigator a jury
    copy), that this key reads and whose files match the root. Every such envelope is tried, so
    nobody else's envelope under the same root, junk or a fake bundle, can pose as it."""
    return open_readable(filed_by(evidence.uploads(root), filer), private_key, kind, root)


def account(address: str) -> Callable[[str], bool]:
    """`filer` for one account."""
    wanted = to_checksum_address(address)
    return wanted.__eq__


def is_investigator(suite) -> Callable[[str], bool]:
    """`filer` for jury copies: the account holds INVESTIGATOR_ROLE on chain (asked once each)."""
    known: dict[str, bool] = {}

    def accept(address: str) -> bool:
        if address not in known:
            known[address] = bool(suite.claims.has_role("INVESTIGATOR_ROLE", address))
        return known[address]

    return accept
