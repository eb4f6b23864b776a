"""The evidence root: a Merkle tree over the claim's files, the only thing that goes on chain.

Leaves and inner nodes are domain-separated (0x00 / 0x01 prefixes) so a file can never pose as a
subtree. Files are ordered by name, so the same set of files always gives the same root, and the
manifest (name -> leaf) lets `verify` name the file that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(content: bytes) -> bytes:
    return keccak(LEAF_PREFIX + keccak(content))


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
    """Names and leaf hashes of a claim's files: hashes only, never content."""

    entries: tuple[tuple[str, bytes], ...]

    @classmethod
    def of_contents(cls, named: Iterable[tuple[str, bytes]]) -> Manifest:
        items = sorted(named, key=lambda item: item[0])
        names = [name for name, _ in items]
        if len(set(names)) != len(names):
            raise ValueError("two evidence files share a name; rename one")
        return cls(tuple((name, leaf_hash(content)) for name, content in items))

    @classmethod
    def of_files(cls, paths: Iterable[Path]) -> Manifest:
        return cls.of_contents((Path(p).name, Path(p).read_bytes()) for p in paths)

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
