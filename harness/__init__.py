"""The test harness: networks of real node processes behind controllable TCP proxies, the attacks
of the hostile tests, and what an honest client measures meanwhile.

`tests/` and `scripts/` (the soaks) both use it, so it lives outside `tests/`: it may import
`consortium` and `node`; nothing in `consortium` or `node` imports it (import-linter)."""
