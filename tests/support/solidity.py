"""Compile a one-file Solidity source with the project's solc (as contracts/ are), cached by hash.

Tests and scripts that need a small contract of their own use this; the suite in contracts/ goes
through consortium.compiler, which also holds this function (scripts reach it there).
"""

from __future__ import annotations

from consortium.compiler import compile_source

__all__ = ["compile_source"]
