"""The simulator never sends what the rules refuse (issue 11): several small, busy seeds on a
network of their own, every path taken (payouts, waiting-period refusals, objections, disputes with
jury votes, removals), no transaction of the driver refused."""

from __future__ import annotations

import json

import pytest

from tests.simulation.conftest import hubao, sim_network


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    with sim_network(tmp_path_factory.mktemp("busy-net"), users=45) as root:
        yield root


# Small, busy populations: high incidence, fraud, defaults and a short waiting period, so that
# payouts, refusals in the waiting period, objections, disputes with jury votes and removals all
# happen; jurors then leave, are paid out or removed while cases are open.
BUSY = [
    ("1", ["--members", "30", "--months", "2", "--incidence", "4", "--fraud-rate", "0.4",
           "--default-rate", "2", "--waiting-days", "30"]),
    ("33", ["--members", "20", "--months", "2", "--incidence", "6", "--fraud-rate", "0.6",
            "--default-rate", "3", "--waiting-days", "20", "--juror-turnout", "0.3"]),
]  # fmt: skip


def test_the_driver_never_sends_what_the_rules_refuse(network, tmp_path):
    """Every transaction the driver sends is one the contracts accept: no juror who is no longer
    an active member is asked to vote, no objector who is not, no claim from a member owing past
    the grace period, no exit racing an age-out. Several seeds, each with every path taken."""
    root = network
    seen = dict.fromkeys(("accepted", "refused_in_waiting", "objected", "disputed", "jury_against",
                          "removed"), 0)  # fmt: skip
    for year, (seed, args) in zip(range(2031, 2100, 2), BUSY, strict=False):
        run = hubao("simulate", "--network", str(root), "--out", str(tmp_path / seed), "--json", *args,
                    "--seed", seed, "--start", f"{year}-01-01", "--no-measure-node", timeout=400)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        report = json.loads(run.stdout)
        assert report["run"]["driver_failed"] == 0, report["run"]["failure_samples"]
        assert report["run"]["refusals"] == {}
        assert report["reconciled"] and report["rules_held"]["held"]
        for key in seen:
            seen[key] += sum(row[key] for row in report["periods"])
    assert all(seen.values()), seen
