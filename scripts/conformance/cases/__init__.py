"""Every case, in the order they run: reads first, then what changes a node's state, and
anvil_reset / hardhat_reset last (they wipe the history the others read)."""

from __future__ import annotations

from conformance.cases import accounts, calls, core, dev, pool, proof, trace

CASES = [*core.CASES, *calls.CASES, *proof.CASES, *trace.CASES, *pool.CASES, *accounts.CASES, *dev.CASES]
