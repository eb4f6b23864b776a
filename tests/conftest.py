"""Options and markers for the whole suite (docs/testing.md)."""

from __future__ import annotations

import pytest

import harness.processes  # noqa: F401  (first: every node the suite starts keeps its call worker lazy)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hubao")
    group.addoption(
        "--soak-cycles", type=int, default=0, metavar="N",
        help="run the e2e scenarios and tests/e2e/soak/ N rounds, validators permuted",
    )  # fmt: skip
    group.addoption("--soak-seed", type=int, default=1, help="seed of the soak's permutations")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test lands in its bucket by the support it reaches (tests/support/buckets.py); an
    explicit @pytest.mark.process or .slow stays as written."""
    from tests.support.buckets import bucket

    for item in items:
        if item.get_closest_marker("process") or item.get_closest_marker("slow"):
            continue
        found = bucket(item, ignore=(GUARD,))
        if found:
            item.add_marker(found)
    # files with process tests first, fast ones last: with xdist (`make test`: -n 2 --dist loadfile)
    # the long waits on block timers start early and the short tests fill the gaps at the end
    rank: dict[object, int] = {}  # test file -> its most expensive bucket
    for item in items:
        here = 0 if item.get_closest_marker("process") else 1 if item.get_closest_marker("slow") else 2
        rank[item.path] = min(rank.get(item.path, 2), here)
    items.sort(key=lambda item: rank[item.path])


GUARD = "_no_process_outside_the_process_bucket"


@pytest.fixture(autouse=True)
def _no_process_outside_the_process_bucket(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A test outside the process bucket that starts a process fails, saying so: the bucket it was
    put in is wrong (the project's solc, a compiler rather than a service, is allowed)."""
    if request.node.get_closest_marker("process"):
        yield
        return
    import subprocess

    from consortium.compiler import solc_binary

    real = subprocess.Popen.__init__

    def guarded(self, args, *a, **kw):
        argv = [str(x) for x in (args if isinstance(args, list | tuple) else [args])]
        if argv[0] != solc_binary():
            raise RuntimeError(
                f"{request.node.nodeid} starts a process ({' '.join(argv[:4])}) but is not in the "
                "process bucket: mark it @pytest.mark.process (docs/testing.md)"
            )
        real(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", guarded)
    yield


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """After a run, name fast-bucket tests that took over 2 s: they belong in `slow`, or should be fast."""
    slow = [
        r for r in terminalreporter.stats.get("passed", [])
        if r.when == "call" and r.duration > 2.0 and not {"process", "slow"} & set(r.keywords)
    ]  # fmt: skip
    if slow:
        terminalreporter.write_sep("-", "fast-bucket tests over 2 s (mark them slow, or make them fast)")
        for r in sorted(slow, key=lambda r: -r.duration):
            terminalreporter.write_line(f"{r.duration:5.1f}s {r.nodeid}")
