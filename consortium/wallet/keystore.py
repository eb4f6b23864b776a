"""Encrypted keys in the Web3 Secret Storage format (scrypt), the files geth and MetaMask read.

Files are named as geth names them (UTC--<time>--<address>), written with mode 0600 through a
temporary file and a rename so a crash never leaves half a key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_utils import to_checksum_address

from node.files import atomic_write

DEFAULT_DIR = Path(os.environ.get("HUBAO_WALLET", Path.home() / ".hubao" / "wallet"))
LIGHT_SCRYPT_N = 1 << 12  # geth's --lightkdf: for test and throw-away keys only


class KeystoreError(Exception):
    """A keystore problem to show the user as one line (wrong password, corrupt file, unknown key)."""


@dataclass(frozen=True)
class StoredKey:
    address: str
    path: Path


class Keystore:
    def __init__(self, directory: Path = DEFAULT_DIR) -> None:
        self.directory = Path(directory)

    def keys(self) -> list[StoredKey]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            try:
                address = json.loads(path.read_text())["address"]
                found.append(StoredKey(to_checksum_address("0x" + address.removeprefix("0x")), path))
            except (ValueError, KeyError, TypeError):
                continue  # not a keystore file; `unlock` names it if someone asks for it
        return found

    def find(self, address: str | None = None) -> StoredKey:
        keys = self.keys()
        if not keys:
            raise KeystoreError(f"no keys in {self.directory}: create one with `hubao wallet new`")
        if address is None:
            if len(keys) > 1:
                raise KeystoreError("several keys in the wallet: choose one with --account ADDRESS")
            return keys[0]
        wanted = address.lower()
        for key in keys:
            if key.address.lower() == wanted:
                return key
        raise KeystoreError(f"no key for {address} in {self.directory}")

    def create(self, password: str, light: bool = False) -> StoredKey:
        return self.save(Account.create().key, password, light)

    def save(self, private_key: bytes, password: str, light: bool = False) -> StoredKey:
        if not password:
            raise KeystoreError("refusing to store a key with an empty password")
        keyfile = Account.encrypt(
            private_key, password, kdf="scrypt", iterations=LIGHT_SCRYPT_N if light else None
        )
        address = to_checksum_address(keyfile["address"])
        if any(k.address == address for k in self.keys()):
            raise KeystoreError(f"the wallet already holds {address}")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
        path = self.directory / f"UTC--{stamp}--{address[2:].lower()}"
        atomic_write(path, json.dumps(keyfile), exclusive=True)
        return StoredKey(address, path)

    def import_file(self, source: Path, password: str) -> StoredKey:
        """Import a keystore written by geth, MetaMask or another wallet (checks the password)."""
        private_key = unlock_file(Path(source), password)
        return self.save(private_key, password)

    def unlock(self, address: str | None, password: str) -> tuple[str, bytes]:
        key = self.find(address)
        return key.address, unlock_file(key.path, password)


def unlock_file(path: Path, password: str) -> bytes:
    try:
        keyfile = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"{path} is not a readable keystore file ({exc.__class__.__name__})") from None
    if not isinstance(keyfile, dict) or "crypto" not in keyfile and "Crypto" not in keyfile:
        raise KeystoreError(f"{path} is not a Web3 Secret Storage keystore")
    try:
        return bytes(Account.decrypt(keyfile, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise KeystoreError(f"wrong password for {path.name}") from None
        raise KeystoreError(f"{path} is corrupt: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise KeystoreError(f"{path} is corrupt: missing {exc}") from None
