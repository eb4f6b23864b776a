"""The same JSON-RPC requests against our dev node and anvil, judged against geth's answers.

Starts `hubao node run --dev` and node_modules/.bin/anvil itself (`make build` installs anvil),
prints a line per method and last `passed: hubao N, anvil M`. The cases live in
scripts/conformance/cases/ (see scripts/conformance/runner.py for the options).

    .venv/bin/python scripts/conformance.py [--only hubao] [--json outcomes.json]
"""

from __future__ import annotations

from conformance.runner import main  # noqa: E402 (scripts/conformance/, next to this file)

if __name__ == "__main__":
    main()
