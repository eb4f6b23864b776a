"""Many contract reads in few round trips (JSON-RPC batches), for loops over claims or members."""

from __future__ import annotations

BATCH = 500  # geth's and our node's limit is 1,000 requests per batch


def read_many(w3, calls: list) -> list:
    """Results of contract function calls (`contract.functions.f(args)`), in order."""
    results: list = []
    for i in range(0, len(calls), BATCH):
        with w3.batch_requests() as batch:
            for call in calls[i : i + BATCH]:
                batch.add(call)
            results += batch.execute()
    return results


def all_claims(suite) -> list:
    """Every claim of the suite, by id."""
    count = suite.claims.count()
    return read_many(suite.w3, [suite.claims.contract.functions.claim(i) for i in range(count)])
