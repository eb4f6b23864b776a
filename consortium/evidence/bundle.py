"""A claim's evidence bundle: the files, their salts and their manifest, sealed for the readers.

Each file has its own random salt (see `merkle`); the salts travel inside the sealed envelope, so
every reader can recompute the root and keep the salts beside the files (`salts_json`), while the
public leaves tell nobody else anything. A jury copy (kind "jury") also carries the manifest of the
original evidence, whose root is the one on chain, and the names of the files whose personal fields
were removed: a juror checks every untouched file (same salt) against the chain and knows which
ones were redacted (fresh salts, so their originals cannot be guessed either).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from .envelope import CorruptEnvelope, Envelope, NotAReader, open_envelope, seal
from .merkle import Manifest, new_salts, salts_json


@dataclass(frozen=True)
class Bundle:
    files: dict[str, bytes]
    kind: str = "claim"  # claim | objection | jury (personal fields removed)
    original: Manifest | None = None  # jury copies: the manifest whose root is on chain
    redacted: tuple[str, ...] = ()  # jury copies: files changed or withheld for privacy
    salts: dict[str, bytes] = field(default_factory=dict)  # per file; fresh ones for any missing

    def __post_init__(self) -> None:
        missing = [name for name in self.files if name not in self.salts]
        salts = {**self.salts, **new_salts(missing)}
        object.__setattr__(self, "salts", {name: salts[name] for name in self.files})

    @classmethod
    def from_paths(cls, paths: list[Path], kind: str = "claim") -> Bundle:
        return cls.of_named([(Path(p).name, Path(p).read_bytes()) for p in paths], kind)

    @classmethod
    def of_named(cls, named: list[tuple[str, bytes]], kind: str = "claim") -> Bundle:
        names = [name for name, _ in named]
        if len(set(names)) != len(names):
            raise ValueError("two evidence files share a name; rename one")
        return cls(dict(named), kind)

    @property
    def manifest(self) -> Manifest:
        return Manifest.of_contents(self.files.items(), self.salts)

    def salts_json(self) -> dict:
        """The salts file a reader keeps beside the files, for `hubao evidence verify --salts`."""
        return salts_json(self.manifest, self.salts)

    @property
    def root(self) -> bytes:
        return self.manifest.root

    def seal_for(self, reader_public_keys: list[bytes]) -> bytes:
        body = {
            "kind": self.kind,
            "manifest": self.manifest.to_json(),
            "files": {name: base64.b64encode(data).decode() for name, data in self.files.items()},
            "salts": {name: salt.hex() for name, salt in self.salts.items()},
        }
        if self.original is not None:
            body["original"] = self.original.to_json()
            body["redacted"] = list(self.redacted)
        public = self.original or self.manifest
        leaves = tuple(leaf for _, leaf in public.entries)
        return seal(json.dumps(body, sort_keys=True).encode(), reader_public_keys, leaves).to_bytes()

    @classmethod
    def open(cls, blob: bytes, private_key: bytes) -> Bundle:
        body = json.loads(open_envelope(Envelope.from_bytes(blob), private_key))
        bundle = cls(
            {n: base64.b64decode(d) for n, d in body["files"].items()},
            body["kind"],
            Manifest.from_json(body["original"]) if "original" in body else None,
            tuple(body.get("redacted", ())),
            {n: bytes.fromhex(salt) for n, salt in body["salts"].items()},
        )
        if bundle.manifest != Manifest.from_json(body["manifest"]):
            raise CorruptEnvelope("bundle files do not match their own manifest")
        return bundle

    def check_against(self, chain_root: bytes) -> list[str]:
        """What does not match the on-chain root, in plain words (empty: everything matches).

        A claim bundle must hash to the root; a jury copy's original manifest must, and each
        file it did not redact must be byte-for-byte the original."""
        if self.original is None:
            if self.root == chain_root:
                return []
            return [f"root {'0x' + self.root.hex()} is not the one on chain"]
        problems = []
        if self.original.root != chain_root:
            problems.append("the jury copy names an evidence root that is not the one on chain")
        originals = dict(self.original.entries)
        for name, leaf in self.manifest.entries:
            if name in self.redacted:
                continue
            if originals.get(name) != leaf:
                problems.append(f"{name}: content differs from the original evidence")
        return problems


def open_readable(
    blobs: list[bytes], private_key: bytes, kind: str | None = None, root: bytes | None = None
) -> Bundle:
    """The envelope among `blobs` this key may read (of `kind`, when given). Every one is tried, so
    junk, an altered copy or one sealed to others filed under the same root changes nothing: with
    `root` (the one on chain) the first whose files match it wins; without a match, the first one
    readable (its `check_against` names what is wrong). NotAReader when none is readable."""
    if not blobs:
        raise NotAReader("no evidence is stored under this root")
    mismatched: list[Bundle] = []
    refused: NotAReader | None = None
    for blob in blobs:
        try:
            bundle = Bundle.open(blob, private_key)
        except NotAReader as exc:
            refused = refused or exc
            continue
        except (CorruptEnvelope, ValueError, KeyError, TypeError, AttributeError):
            continue  # not an evidence bundle at all
        if kind is not None and bundle.kind != kind:
            continue
        if root is None or not bundle.check_against(root):
            return bundle
        mismatched.append(bundle)
    if mismatched:
        return mismatched[0]
    if refused is not None and kind is None:
        raise refused  # names the account: it is simply not a reader
    what = f"{kind} copy of this evidence" if kind else "readable envelope under this root"
    raise NotAReader(f"no {what} is stored for this account")
