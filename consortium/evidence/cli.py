"""`hubao evidence verify CLAIM_ID FILE...`: do these files hash to the claim's root on chain?"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from consortium.cliutil import Output, chain_options, connect
from consortium.wallet.words import in_words


@click.group()
def evidence() -> None:
    """Check claim evidence against the chain."""


@evidence.command()
@click.argument("claim_id", type=int)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@chain_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@in_words
def verify(claim_id: int, files: tuple[Path, ...], rpc: str, deployment_path: Path, as_json: bool) -> None:
    """Recompute the evidence root from FILES and compare it with claim CLAIM_ID's root on chain.

    A mismatch names the changed file, using the public Merkle leaves kept with the sealed evidence
    (checked against the chain first); nobody needs a key to verify."""
    from consortium.client import Suite
    from consortium.evidence.merkle import Manifest

    suite = Suite(*connect(rpc, deployment_path))
    chain_root = bytes(suite.claims.claim(claim_id).evidenceRoot)
    try:
        manifest = Manifest.of_files(files)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    out = Output(as_json)
    ok = manifest.root == chain_root
    result = {
        "claim_id": claim_id,
        "matches": ok,
        "chain_root": "0x" + chain_root.hex(),
        "files_root": "0x" + manifest.root.hex(),
        "files": [{"name": n, "leaf": "0x" + leaf.hex()} for n, leaf in manifest.entries],
    }
    if ok:
        out.result(result, f"claim #{claim_id}: all {len(files)} files match the evidence root on chain")
        return
    changed = _name_changed(suite, manifest, chain_root)
    result["differences"] = changed
    detail = "; ".join(changed) if changed else "the set of files or their contents differ"
    if as_json:
        out.result(result, "")
    click.echo(
        f"error: claim #{claim_id}: these files do not match the evidence root on chain: {detail}", err=True
    )
    sys.exit(1)


def _name_changed(suite, manifest, chain_root: bytes) -> list[str]:
    """Name the changed files from the public leaves stored beside the sealed evidence: leaves whose
    Merkle root is the one on chain are the originals (nobody can forge them), in name order."""
    from consortium.evidence.client import EvidenceClient
    from consortium.evidence.envelope import CorruptEnvelope, Envelope
    from consortium.evidence.merkle import merkle_root
    from consortium.evidence.store import EvidenceError

    try:
        blobs = EvidenceClient(suite.w3).get(chain_root)
    except EvidenceError:
        return []
    for blob in blobs:
        try:
            leaves = Envelope.from_bytes(blob).leaves
        except CorruptEnvelope:
            continue
        if not leaves or merkle_root(list(leaves)) != chain_root:
            continue
        mine = manifest.entries
        if len(mine) != len(leaves):
            return [f"you gave {len(mine)} file(s); the evidence on chain has {len(leaves)}"]
        return [
            f"{name}: content differs"
            for (name, leaf), original in zip(mine, leaves, strict=True)
            if leaf != original
        ]
    return []
