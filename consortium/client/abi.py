"""The compiled suite, loaded once per process (checking the compile cache runs solc --version)."""

from __future__ import annotations

from functools import cache

from consortium.compiler import load_artifacts


@cache
def artifacts() -> dict[str, dict]:
    return load_artifacts()


def abi(contract: str) -> list[dict]:
    return artifacts()[contract]["abi"]
