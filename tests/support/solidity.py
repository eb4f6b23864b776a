"""Compile a one-file Solidity source with the project's solc (as contracts/ are), cached by hash.

Tests and scripts that need a small contract of their own use this; the suite in contracts/ goes
through consortium.compiler.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import solcx

from consortium.compiler import SETTINGS, solc_binary

ROOT = Path(__file__).resolve().parents[2]


def compile_source(source: str, contract: str) -> dict:
    """{"abi": [...], "bytecode": "0x..."} of `contract` in `source`; wasm solc is slow to start,
    so results are kept in build/ under a hash of the source."""
    settings = {**SETTINGS, "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}
    key = json.dumps([contract, source, settings], sort_keys=True)
    cache = ROOT / "build" / f"single-{contract}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    out = solcx.compile_standard(
        {"language": "Solidity", "sources": {f"{contract}.sol": {"content": source}}, "settings": settings},
        solc_binary=solc_binary(),
    )
    unit = out["contracts"][f"{contract}.sol"][contract]
    artifact = {"abi": unit["abi"], "bytecode": "0x" + unit["evm"]["bytecode"]["object"]}
    cache.parent.mkdir(exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(artifact))
    tmp.replace(cache)
    return artifact
