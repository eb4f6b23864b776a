"""`hubao node export` and `hubao node import`: a consortium chain as concatenated RLP blocks, the
file `besu blocks import` reads (docs/besu.md); `hubao node reexecute`: committed blocks executed
again, alone, timed (what executing them costs one node on one core). The work is `node.archive`'s
and `node.reexecute`'s; these commands only open the datadir or the node's config and report
(registered on `hubao node` in consortium/nodes/cli.py).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from node.errors import NodeError


@click.command("export")
@click.option("--datadir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--from", "first", type=int, default=0, show_default=True, help="First block.")
@click.option("--to", "last", type=int, default=None, help="Last block (default: the head).")
def export_command(datadir: str, out_path: str, first: int, last: int | None) -> None:
    """Write committed blocks (with their commit seals) as concatenated RLP."""
    from node.archive import export_blocks
    from node.storage import Store

    store = Store(datadir)
    try:
        with open(out_path, "wb") as out:
            count = export_blocks(store, out, first, last)
    except NodeError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"exported {count} blocks to {out_path}")


@click.command("import")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.argument("chain_file", type=click.Path(exists=True, dir_okay=False))
def import_command(config_path: str, chain_file: str) -> None:
    """Import concatenated RLP blocks into the node's datadir, each checked as sync checks it."""
    from consortium.network.config import load_config
    from node.archive import import_blocks, read_blocks
    from node.genesis import Genesis
    from node.permissioning import ALLOWLIST_ADDRESS, Allowlist, AllowlistAccountFilter
    from node.qbft.config import QbftConfig
    from node.qbft.engine import decode_block, refuse_pre_besu_chain
    from node.qbft.importer import importer_for
    from node.storage import Store

    try:
        config = load_config(config_path)
        doc = json.loads(Path(config.genesis).read_text())
        qbft = QbftConfig.from_genesis(doc)
        genesis = Genesis.from_json(doc)
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(f"{config_path}: {exc}") from exc
    permissioning = doc["config"].get("hubao", {}).get("permissioning", {})
    store = Store(str(config.datadir))
    try:
        chain = open_chain(store, genesis, qbft)
        refuse_pre_besu_chain(chain)
        if permissioning.get("accounts", True):
            chain.account_filter = AllowlistAccountFilter(permissioning.get("contract", ALLOWLIST_ADDRESS))
        importer = importer_for(chain, qbft.min_spacing)
        if permissioning.get("nodes", True):
            importer.node_allowed = Allowlist(
                chain, permissioning.get("contract", ALLOWLIST_ADDRESS)
            ).is_node_allowed
        with open(chain_file, "rb") as stream:
            added = import_blocks(chain, read_blocks(stream), importer.import_block, decode_block)
        head = chain.head
    except NodeError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"imported {added} blocks: head #{head.block_number} 0x{chain.block_hash(head).hex()}")


@click.command("reexecute")
@click.option("--datadir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--genesis", "genesis_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--blocks", "numbers", required=True, help="Block numbers, comma-separated.")
def reexecute_command(datadir: str, genesis_path: str, numbers: str) -> None:
    """Execute committed blocks again on their parents' state, alone, and time each (one JSON line
    per block: number, gas, transactions, seconds). Works on a copy of the datadir, so the node
    may keep running; nothing is written to it."""
    from node.genesis import Genesis
    from node.qbft.config import QbftConfig
    from node.reexecute import reexecute
    from node.storage import Store, copy_store

    try:
        wanted = [int(n) for n in numbers.split(",") if n.strip()]
        doc = json.loads(Path(genesis_path).read_text())
        genesis, qbft = Genesis.from_json(doc), QbftConfig.from_genesis(doc)
    except (OSError, KeyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="hubao-reexecute-") as copy:
        copy_store(datadir, copy)
        store = Store(copy)
        try:
            chain = open_chain(store, genesis, qbft)
            chain.rules.bind(chain)
            for number in wanted:
                r = reexecute(chain, number)
                click.echo(json.dumps({"number": r.number, "gas": r.gas, "transactions": r.transactions,
                                       "seconds": round(r.seconds, 6)}))  # fmt: skip
        except NodeError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            store.close()


def open_chain(store, genesis, qbft):
    """A consortium chain on `store` as its node opens it (QBFT's rules), outside a running node."""
    from node.chain import Chain
    from node.qbft.rules import QbftRules

    return Chain(store, genesis, rules=QbftRules(qbft.epoch_length))
