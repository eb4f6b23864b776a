"""Tests compile their own one-file contracts with the application's compiler (cached in build/)."""

from consortium.compiler import compile_source

__all__ = ["compile_source"]
