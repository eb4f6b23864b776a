"""scripts/soak_hostile.py's parts: every attack of issue 16 repeated in a loop (`rpc_attacks`,
`peer_attacks`, on `base.Attack`), the honest client and the node measurements (`measure`).

The attacks' own code is the hostile tests' (harness/attacks.py, harness/peernet.py): this package
only repeats it and counts."""
