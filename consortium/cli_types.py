"""The kinds of value `hubao wallet` and `hubao operator` take, as click parameter types.

Each type knows its rule as one phrase ("a whole number from 1 to 100"), so a bad or missing value
is refused in one sentence that names the valid range, with click's usage-error exit code 2, before
any key is unlocked and before anything is signed, uploaded or sent. The ranges are the contracts'
(Claims.ILLNESS_CODES, the pool's uint96 fen); whether a claim exists or a person is old enough is
the chain's to say, with its own refusal (exit code 1). docs/cli.md lists every option's rule.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import click

UINT256_MAX = 2**256 - 1
FEN_MAX = 2**96 - 1  # the pool keeps fen in uint96 (paidUpTo, payouts): more could never be paid in
CLAIM_ID_MAX = 2**64 - 1  # ids index Claims' array: no chain holds more claims than this
ILLNESS_CODES = 100  # Claims.ILLNESS_CODES
MAX_PAYOUTS = 100  # payouts per disburse: two transfers each, well inside one block's gas
MAX_JURORS = 200  # addresses per Jury.qualify transaction
EARLIEST_DATE = date(1900, 1, 1)
_POWERS = {UINT256_MAX: "2^256-1", FEN_MAX: "2^96-1", CLAIM_ID_MAX: "2^64-1"}


def number(n: int) -> str:
    return _POWERS.get(n, f"{n:,}")


class Rule(click.ParamType):
    """A type that states its rule; `refuse` fails with 'must be <rule>, not <value>[: why]'."""

    rule = "a value"

    def refuse(self, value, param, ctx, why: str = "") -> NoReturn:
        shown = value if isinstance(value, str) else str(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        self.fail(f"must be {self.rule}, not {shown!r}" + (f": {why}" if why else ""), param, ctx)


class WholeNumber(Rule):
    """Decimal digits only (no sign, point, exponent or underscores), within [low, high]."""

    name = "integer"

    def __init__(self, low: int, high: int, what: str = "") -> None:
        self.low, self.high = low, high
        self.rule = f"{what}a whole number from {number(low)} to {number(high)}"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            n = value
        else:
            text = str(value).strip()
            if len(text) > 80 or not re.fullmatch(r"[0-9]+", text):
                self.refuse(value, param, ctx)
            n = int(text)
        if not self.low <= n <= self.high:
            self.refuse(value, param, ctx)
        return n


ILLNESS = WholeNumber(1, ILLNESS_CODES, "a covered illness's code, ")
CLAIM_ID = WholeNumber(0, CLAIM_ID_MAX, "a claim number, ")
FEN = WholeNumber(0, FEN_MAX, "an amount in fen (RMB 1 = 100 fen), ")
WEI = WholeNumber(0, UINT256_MAX, "an amount in wei, ")
PAYOUTS = WholeNumber(1, MAX_PAYOUTS)


class OneOf(Rule):
    """One of a few words, exactly as written (click.Choice's job, stated as a rule)."""

    name = "choice"

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.rule = ", ".join(choices[:-1]) + f" or {choices[-1]}"

    def convert(self, value, param, ctx) -> str:
        if value not in self.choices:
            self.refuse(value, param, ctx)
        return value


class Address(Rule):
    """An account: 0x and 40 hex digits; in mixed case the EIP-55 checksum must match (as ethers
    takes it: a one-case address carries no checksum). Returned checksummed."""

    name = "address"
    rule = "an account address, 0x and 40 hex digits (in mixed case with a correct EIP-55 checksum)"

    def convert(self, value, param, ctx) -> str:
        from eth_utils import to_checksum_address

        text = str(value).strip()
        if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
            self.refuse(value, param, ctx)
        checksummed = to_checksum_address(text)
        body = text[2:]
        if body != body.lower() and body != body.upper() and text != checksummed:
            self.refuse(value, param, ctx, "the checksum does not match (a mistyped digit?)")
        if int(body, 16) == 0:
            self.refuse(value, param, ctx, "the zero address is nobody's account")
        return checksummed


class Bytes32(Rule):
    name = "bytes32"
    rule = "0x and 64 hex digits"

    def convert(self, value, param, ctx) -> bytes:
        text = str(value).strip()
        if not re.fullmatch(r"0x[0-9a-fA-F]{64}", text):
            self.refuse(value, param, ctx)
        return bytes.fromhex(text[2:])


class Day(Rule):
    name = "date"
    rule = f"a date written YYYY-MM-DD, from {EARLIEST_DATE} on"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            self.refuse(value, param, ctx)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.refuse(value, param, ctx, "no such day")
        if day < EARLIEST_DATE:
            self.refuse(value, param, ctx)
        return day


class NodeUrl(Rule):
    name = "url"
    rule = "an http:// or https:// URL of a node's JSON-RPC, such as http://127.0.0.1:8545"

    def convert(self, value, param, ctx) -> str:
        text = str(value).strip()
        try:
            parts = urlsplit(text)
            port = parts.port  # raises on a port that is no number or out of 0..65535
        except ValueError:
            self.refuse(value, param, ctx)
        if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
            self.refuse(value, param, ctx)
        return text


class FileName(Rule):
    """A name inside an evidence bundle: no folders."""

    name = "name"
    rule = "a file name without folders, at most 255 bytes"

    def convert(self, value, param, ctx) -> str:
        text = str(value)
        if not text or text in (".", "..") or "/" in text or "\0" in text or len(text.encode()) > 255:
            self.refuse(value, param, ctx)
        return text


# ---- files and folders ----


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


class ExistingFile(Rule):
    """A regular file this process may read; returned as a Path."""

    name = "file"

    def __init__(self, rule: str = "an existing, readable file") -> None:
        self.rule = rule

    def convert(self, value, param, ctx) -> Path:
        import os

        path = Path(value)
        if not path.exists():
            self.refuse(value, param, ctx, "there is nothing at that path")
        if path.is_dir():
            self.refuse(value, param, ctx, "it is a folder")
        if not os.access(path, os.R_OK):
            self.refuse(value, param, ctx, "it cannot be read")
        return path


class KeyFile(ExistingFile):
    """A staff key file: its 32-byte private key (64 hex digits, 0x optional) is returned."""

    def __init__(self) -> None:
        super().__init__("a file holding a private key as 64 hex digits")

    def convert(self, value, param, ctx) -> bytes:
        path = super().convert(value, param, ctx)
        text = path.read_text(errors="replace")[:200].strip() if path.stat().st_size <= 200 else ""
        text = text.removeprefix("0x")
        if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
            self.refuse(value, param, ctx, "it holds no 32-byte hex private key")
        return bytes.fromhex(text)


class DeploymentFile(ExistingFile):
    """What scripts/deploy.py wrote: a JSON object with the chain id and the contracts' addresses."""

    def __init__(self) -> None:
        super().__init__("a deployment file written by scripts/deploy.py")

    def convert(self, value, param, ctx) -> Path:
        path = super().convert(value, param, ctx)
        try:
            data = json.loads(path.read_text()) if path.stat().st_size <= 1_000_000 else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if (
            not isinstance(data, dict)
            or "chain_id" not in data
            or not isinstance(data.get("addresses"), dict)
        ):
            self.refuse(value, param, ctx, "it is not one (no chain_id and addresses)")
        return path


class NewFile(Rule):
    """A file to write: not a folder, and its folder exists or can be made."""

    name = "file"
    rule = "a path for a file, in a folder that exists or can be made"

    def convert(self, value, param, ctx) -> Path:
        path = Path(value)
        if path.is_dir():
            self.refuse(value, param, ctx, "it is a folder")
        if not _nearest_existing(path.parent).is_dir():
            self.refuse(value, param, ctx, f"{_nearest_existing(path.parent)} is a file, not a folder")
        return path


class Folder(Rule):
    """A folder to read or fill: an existing one, or a path where one can be made."""

    name = "folder"
    rule = "a folder, or a path where one can be made"

    def convert(self, value, param, ctx) -> Path:
        path = Path(value)
        nearest = _nearest_existing(path)
        if not nearest.is_dir():
            self.refuse(value, param, ctx, f"{nearest} is a file")
        return path


EVIDENCE = ExistingFile("an existing, readable evidence file")


def evidence_limit() -> int:
    """Bytes of files one sealed envelope can carry: base64 (4/3) inside hex (2) within MAX_BLOB."""
    from consortium.evidence.store import MAX_BLOB

    return MAX_BLOB * 3 // 8


def check_evidence(paths: list[Path]) -> list[Path]:
    """The evidence files of a claim or an objection, refused as a usage error before anything is
    sealed: none at all, two with one name, or more than one envelope can hold."""
    if not paths:
        raise click.UsageError(
            "give at least one evidence file: --evidence FILE, or FILE... after the options"
        )
    names = [p.name for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise click.UsageError(f"evidence files need distinct names: {', '.join(twice)} is given twice")
    total, limit = sum(p.stat().st_size for p in paths), evidence_limit()
    if total > limit:
        raise click.UsageError(
            f"evidence files must be at most {limit // 1024:,} KiB in all (what one sealed envelope "
            f"holds), not {total // 1024:,} KiB: send smaller scans, or fewer files"
        )
    return paths
