"""A claim's evidence bundle: the files and their manifest, sealed for the readers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from .envelope import CorruptEnvelope, Envelope, open_envelope, seal
from .merkle import Manifest


@dataclass(frozen=True)
class Bundle:
    files: dict[str, bytes]
    kind: str = "claim"  # claim | objection | jury (personal fields removed)

    @classmethod
    def from_paths(cls, paths: list[Path], kind: str = "claim") -> Bundle:
        return cls({Path(p).name: Path(p).read_bytes() for p in paths}, kind)

    @property
    def manifest(self) -> Manifest:
        return Manifest.of_contents(self.files.items())

    @property
    def root(self) -> bytes:
        return self.manifest.root

    def seal_for(self, reader_public_keys: list[bytes]) -> bytes:
        body = {
            "kind": self.kind,
            "manifest": self.manifest.to_json(),
            "files": {name: base64.b64encode(data).decode() for name, data in self.files.items()},
        }
        return seal(json.dumps(body, sort_keys=True).encode(), reader_public_keys).to_bytes()

    @classmethod
    def open(cls, blob: bytes, private_key: bytes) -> Bundle:
        body = json.loads(open_envelope(Envelope.from_bytes(blob), private_key))
        bundle = cls({n: base64.b64decode(d) for n, d in body["files"].items()}, body["kind"])
        if bundle.manifest != Manifest.from_json(body["manifest"]):
            raise CorruptEnvelope("bundle files do not match their own manifest")
        return bundle
