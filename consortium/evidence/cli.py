"""`hubao evidence verify CLAIM_ID FILE... --salts SALTS`: do these files hash to the claim's root?"""

from __future__ import annotations

import json
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
@click.option(
    "--salts",
    "salts_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The salts file that came with the files (salts.json, written with them by `claim evidence --out`).",
)
@chain_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@in_words
def verify(claim_id: int, files: tuple[Path, ...], salts_path: Path, rpc: str, deployment_path: Path,
           as_json: bool) -> None:  # fmt: skip
    """Recompute the evidence root from FILES and their salts and compare it with claim CLAIM_ID's
    root on chain. The leaves are salted, so only someone who was given the files and their salts
    (a reader) can check them; a mismatch names the changed file, from the salts file's leaves once
    they are checked against the chain. No key is needed."""
    from consortium.client import Suite
    from consortium.evidence.merkle import Manifest, read_salts

    suite = Suite(*connect(rpc, deployment_path))
    chain_root = bytes(suite.claims.claim(claim_id).evidenceRoot)
    try:
        salts, original = read_salts(json.loads(salts_path.read_text()))
        files = tuple(f for f in files if f.resolve() != salts_path.resolve())
        manifest = Manifest.of_files(files, salts)
    except ValueError as exc:
        raise click.ClickException(f"{exc}") from None
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
    if original.root != chain_root:
        changed = [f"{salts_path.name} is not the salts file of this claim's evidence"]
    else:  # the salts file's leaves are the originals: name what differs
        changed = manifest.differences(original)
    result["differences"] = changed
    detail = "; ".join(changed) if changed else "the set of files or their contents differ"
    if as_json:
        out.result(result, "")
    click.echo(
        f"error: claim #{claim_id}: these files do not match the evidence root on chain: {detail}", err=True
    )
    sys.exit(1)
