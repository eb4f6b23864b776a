"""The evidence root: a Merkle tree over the claim's salted files, the only thing that goes on chain.

Every leaf is keccak(0x00 || salt || keccak(file)) with a fresh 32-byte salt per file, so the
leaves and the root reveal nothing about the files to someone who can guess them (`patient 17:
illness 42`): only a reader, who gets the salts with the files, can recompute a leaf. Leaves and
inner nodes are domain-separated (0x00 / 0x01 prefixes) so a file can never pose as a subtree.
Files are ordered by name, and the manifest (name -> leaf) lets `verify` name the file that changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
SALT_BYTES = 32


def leaf_hash(content: bytes, salt: bytes) -> bytes:
    if len(salt) != SALT_BYTES:
        raise ValueError(f"an evidence salt is {SALT_BYTES} bytes")
    return keccak(LEAF_PREFIX + salt + keccak(content))


def new_salts(names: Iterable[str]) -> dict[str, bytes]:
    return {name: os.urandom(SALT_BYTES) for name in names}


def merkle_root(leaves: list[bytes]) -> bytes:
    """Root over leaves in order; an odd node is carried up unchanged (no duplication tricks)."""
    if not leaves:
        raise ValueError("evidence needs at least one file")
    level = list(leaves)
    while len(level) > 1:
        paired = [keccak(NODE_PREFIX + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


@dataclass(frozen=True)
class Manifest:
    """Names and leaf hashes of a claim's files: hashes only, never content nor salts."""

    entries: tuple[tuple[str, bytes], ...]

    @classmethod
    def of_contents(cls, named: Iterable[tuple[str, bytes]], salts: Mapping[str, bytes]) -> Manifest:
        items = sorted(named, key=lambda item: item[0])
        names = [name for name, _ in items]
        if len(set(names)) != len(names):
            raise ValueError("two evidence files share a name; rename one")
        unsalted = [name for name in names if name not in salts]
        if unsalted:
            raise ValueError(f"{', '.join(unsalted)}: not part of the evidence (no salt for it)")
        return cls(tuple((name, leaf_hash(content, salts[name])) for name, content in items))

    @classmethod
    def of_files(cls, paths: Iterable[Path], salts: Mapping[str, bytes]) -> Manifest:
        return cls.of_contents(((Path(p).name, Path(p).read_bytes()) for p in paths), salts)

    @property
    def root(self) -> bytes:
        return merkle_root([leaf for _, leaf in self.entries])

    def to_json(self) -> dict:
        return {"files": [{"name": name, "leaf": "0x" + leaf.hex()} for name, leaf in self.entries]}

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        return cls(tuple((f["name"], bytes.fromhex(f["leaf"][2:])) for f in data["files"]))

    def differences(self, other: Manifest) -> list[str]:
        """Plain-words list of what differs between two manifests (changed, missing, extra files)."""
        mine, theirs = dict(self.entries), dict(other.entries)
        problems = [
            f"{name}: content differs" for name in mine if name in theirs and mine[name] != theirs[name]
        ]
        problems += [f"{name}: missing" for name in theirs if name not in mine]
        problems += [f"{name}: not part of the evidence" for name in mine if name not in theirs]
        return problems


def salts_json(manifest: Manifest, salts: Mapping[str, bytes]) -> dict:
    """What a reader keeps beside the files (`salts.json`): root, and per file its salt and leaf."""
    return {
        "root": "0x" + manifest.root.hex(),
        "files": [
            {"name": name, "salt": "0x" + salts[name].hex(), "leaf": "0x" + leaf.hex()}
            for name, leaf in manifest.entries
        ],
    }


def read_salts(data: dict) -> tuple[dict[str, bytes], Manifest]:
    """(salts by name, the manifest they came with) from a `salts_json` document."""
    try:
        files = data["files"]
        salts = {f["name"]: bytes.fromhex(f["salt"].removeprefix("0x")) for f in files}
        return salts, Manifest.from_json({"files": files})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not an evidence salts file ({exc})") from None
