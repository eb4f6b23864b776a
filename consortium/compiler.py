"""Compile contracts/ with solc through py-solc-x, cached by a hash of sources and settings.

No native solc can be downloaded offline, so the default compiler is the npm `solc` package (the
official compiler built to wasm) behind `tools/solc`. A native solc in SOLC_BINARY or on PATH wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import click
import solcx
from solcx.wrapper import get_solc_version

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACTS = ROOT / "build" / "contracts.json"

SETTINGS = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


def solc_binary() -> str:
    """The compiler to use: SOLC_BINARY, else a native solc on PATH, else the wasm wrapper."""
    if env := os.environ.get("SOLC_BINARY"):
        return env
    if native := shutil.which("solc"):
        return native
    return str(ROOT / "tools" / "solc")


def _sources() -> dict[str, dict[str, str]]:
    files = sorted(CONTRACTS_DIR.rglob("*.sol"))
    return {f"contracts/{p.relative_to(CONTRACTS_DIR).as_posix()}": {"content": p.read_text()} for p in files}


def _cache_key(sources: dict, binary: str) -> str:
    version = str(get_solc_version(binary, with_commit_hash=True))
    blob = json.dumps({"sources": sources, "settings": SETTINGS, "solc": version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def compile_contracts(force: bool = False) -> dict[str, dict]:
    """Return {contract name: {abi, bytecode, deployed}}; recompile only when sources changed."""
    sources = _sources()
    binary = solc_binary()
    key = _cache_key(sources, binary)
    if not force and ARTIFACTS.exists():
        cached = json.loads(ARTIFACTS.read_text())
        if cached.get("key") == key:
            return cached["contracts"]
    if not sources:
        return {}
    output = solcx.compile_standard(
        {"language": "Solidity", "sources": sources, "settings": SETTINGS},
        solc_binary=binary,
        allow_paths=str(ROOT),
    )
    contracts = {}
    for path, units in output["contracts"].items():
        if not path.startswith("contracts/"):
            continue
        for name, unit in units.items():
            contracts[name] = {
                "abi": unit["abi"],
                "bytecode": "0x" + unit["evm"]["bytecode"]["object"],
                "deployed": "0x" + unit["evm"]["deployedBytecode"]["object"],
            }
    ARTIFACTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = ARTIFACTS.with_suffix(f".{os.getpid()}.tmp")  # two test workers may compile at once
    tmp.write_text(json.dumps({"key": key, "contracts": contracts}))
    tmp.replace(ARTIFACTS)
    return contracts


def compile_source(source: str, contract: str) -> dict:
    """{"abi": [...], "bytecode": "0x..."} of `contract` in a one-file `source` (a benchmark's or a
    test's own small contract); wasm solc is slow to start, so results are kept in build/ under a
    hash of the source and settings."""
    settings = {**SETTINGS, "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}
    key = json.dumps([contract, source, settings], sort_keys=True)
    cache = ARTIFACTS.parent / f"single-{contract}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    out = solcx.compile_standard(
        {"language": "Solidity", "sources": {f"{contract}.sol": {"content": source}}, "settings": settings},
        solc_binary=solc_binary(),
    )
    unit = out["contracts"][f"{contract}.sol"][contract]
    artifact = {"abi": unit["abi"], "bytecode": "0x" + unit["evm"]["bytecode"]["object"]}
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(artifact))
    tmp.replace(cache)
    return artifact


def load_artifacts() -> dict[str, dict]:
    """The compiled suite, compiling first if the tree changed."""
    return compile_contracts()


@click.command("compile")
@click.option("--force", is_flag=True, help="Recompile even if the sources did not change.")
def compile_command(force: bool) -> None:
    """Compile contracts/ into build/contracts.json."""
    names = sorted(compile_contracts(force=force))
    click.echo(f"compiled {len(names)} contracts into {ARTIFACTS.relative_to(ROOT)}: {', '.join(names)}")


if __name__ == "__main__":
    compile_command()
