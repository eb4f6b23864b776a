"""The plan's parameters (Solidity `Rules`) and who holds which role, loadable from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

DAY = 86_400


def _check_known(cls, data: dict, what: str) -> None:
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {what}(s): {', '.join(sorted(unknown))}")


@dataclass(frozen=True)
class Rules:
    """Durations in seconds, money in fen. Defaults from domain.md."""

    waiting_period: int = 90 * DAY
    cover_under_40: int = 30_000_000
    cover_40_to_59: int = 10_000_000
    period_length: int = 15 * DAY
    grace_period: int = 5 * DAY
    fee_bps: int = 800
    case_cap: int = 10
    year_cap: int = 18_800
    year_length: int = 365 * DAY
    notice_period: int = 3 * DAY
    dispute_window: int = 7 * DAY
    juror_delay: int = 30 * DAY
    commit_duration: int = DAY
    reveal_duration: int = DAY
    min_votes: int = 1000
    min_in_favour_bps: int = 5000

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Rules:
        _check_known(cls, data, "rule")
        return cls(**{k: int(v) for k, v in data.items()})


@dataclass(frozen=True)
class Roles:
    """Addresses given each role at deployment; empty means the deployer."""

    organisations: tuple[str, ...] = ()
    operator: str = ""
    enroller: str = ""
    investigator: str = ""
    juror_registrar: str = ""
    treasurer: str = ""
    treasury: str = ""

    def filled(self, deployer: str) -> Roles:
        values = {
            f.name: getattr(self, f.name) or deployer for f in fields(self) if f.name != "organisations"
        }
        return Roles(organisations=tuple(self.organisations) or (deployer,), **values)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["organisations"] = list(self.organisations)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Roles:
        _check_known(cls, data, "role")
        data = dict(data)
        data["organisations"] = tuple(data.get("organisations", ()))
        return cls(**data)


@dataclass(frozen=True)
class Params:
    rules: Rules = field(default_factory=Rules)
    roles: Roles = field(default_factory=Roles)


def load_params(path: str | Path | None) -> Params:
    """A TOML file with optional [rules] and [roles] tables."""
    if path is None:
        return Params()
    data = tomllib.loads(Path(path).read_text())
    unknown = set(data) - {"rules", "roles"}
    if unknown:
        raise ValueError(f"{path}: unknown table(s): {', '.join(sorted(unknown))}")
    return Params(Rules.from_dict(data.get("rules", {})), Roles.from_dict(data.get("roles", {})))
