"""The same JSON-RPC requests against our dev node and against anvil, each answer judged against
geth's (result shape, error codes and texts from go-ethereum's internal/ethapi, eth/tracers and
rpc/errors). `scripts/conformance.py` runs it; the cases are data, one module per area in
`cases/`, each a `Case` (method, params from the world, checker).
"""
