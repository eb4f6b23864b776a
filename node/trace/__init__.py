"""Transaction tracing as geth's debug_trace* answers it, on replays only.

A block is never traced while it is built or imported: a trace replays the block on a fresh state
of its parent, runs the transactions before the traced one untraced, and swaps in a traced
computation class (`hooks.py`) for the traced one alone. Tracers (`struct.py`, `call.py`,
`prestate.py`) see the steps and call frames through `TracerAPI`; `replay.py` drives a replay and
`rpc.py` offers the `debug` namespace.
"""
