"""`hubao wallet`: the claimant's keys and their actions on the plan."""

from __future__ import annotations

from pathlib import Path

import click

from consortium.cliutil import Output, fail_on, password_option, read_password
from consortium.wallet.keystore import DEFAULT_DIR, Keystore, KeystoreError


@click.group()
@click.option(
    "--wallet-dir",
    type=click.Path(path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    envvar="HUBAO_WALLET",
    help="Folder of encrypted keystore files.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def wallet(ctx: click.Context, wallet_dir: Path, as_json: bool) -> None:
    """Keys and the member's actions: join, claim, pay, object, vote."""
    ctx.obj = {"keystore": Keystore(wallet_dir), "out": Output(as_json)}


@wallet.command()
@password_option
@click.pass_obj
@fail_on(KeystoreError)
def new(obj: dict, password_file: Path | None) -> None:
    """Create a new key, encrypted with a password (scrypt)."""
    key = obj["keystore"].create(read_password(password_file, confirm=True))
    obj["out"].result({"address": key.address, "keyfile": str(key.path)}, f"new key {key.address}")


@wallet.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@password_option
@click.pass_obj
@fail_on(KeystoreError)
def import_(obj: dict, source: Path, password_file: Path | None) -> None:
    """Import a keystore file from geth, MetaMask or another Hubao wallet."""
    key = obj["keystore"].import_file(source, read_password(password_file))
    obj["out"].result({"address": key.address, "keyfile": str(key.path)}, f"imported {key.address}")


@wallet.command("list")
@click.pass_obj
def list_(obj: dict) -> None:
    """The keys in this wallet."""
    keys = obj["keystore"].keys()
    obj["out"].table(
        "Keys", ["address", "keyfile"], [[k.address, str(k.path)] for k in keys], empty="no keys yet"
    )


@wallet.command()
@click.option("--account", help="Which key, when the wallet holds several.")
@click.pass_obj
@fail_on(KeystoreError)
def address(obj: dict, account: str | None) -> None:
    """The address of the wallet's key."""
    key = obj["keystore"].find(account)
    obj["out"].result({"address": key.address}, key.address)
