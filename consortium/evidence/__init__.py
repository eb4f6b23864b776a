"""Claim evidence: a Merkle root on chain, the files encrypted in the consortium's evidence store."""
