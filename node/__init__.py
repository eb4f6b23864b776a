"""The Hubao node: durable py-evm chain, transaction pool, block production, JSON-RPC, QBFT."""

import importlib.util
import os

# Keccak through the C extension (safe-pysha3, installed with eth-tester[py-evm]) is ~6x cheaper
# per call than eth-hash's default pycryptodome wrapper, and a block hashes tens of thousands of
# trie nodes. eth-hash picks its backend at the first hash, so this must run before any.
if importlib.util.find_spec("sha3") is not None:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
