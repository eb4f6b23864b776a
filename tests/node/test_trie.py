"""The one-pass ordered trie root equals py-evm's HexaryTrie root for every block shape."""

from __future__ import annotations

import random

import pytest
from eth.db.trie import _make_trie_root_and_nodes

from node.trie import ordered_trie_root


@pytest.mark.parametrize("count", [0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 130, 255, 256, 257, 600])
def test_root_matches_py_evm(count):
    rng = random.Random(count)
    values = tuple(rng.randbytes(rng.choice([1, 5, 31, 32, 33, 120, 400])) for _ in range(count))
    assert ordered_trie_root(values) == _make_trie_root_and_nodes(values)[0]
