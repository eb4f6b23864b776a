"""Options and markers for the whole suite (docs/testing.md)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hubao")
    group.addoption(
        "--soak-cycles", type=int, default=0, metavar="N",
        help="run the e2e scenarios and tests/e2e/soak/ N rounds, validators permuted",
    )  # fmt: skip
    group.addoption("--soak-seed", type=int, default=1, help="seed of the soak's permutations")

