"""The platform's batches (enrolments, debits, removals, mints, juror qualifications) each fit one
transaction of a consortium node: it refuses any transaction asking more than its tx_gas_cap
(`transaction gas limit too high`), so a batch sized for a 30-million-gas block stopped `make demo`
at its first enrolment."""

from __future__ import annotations

from consortium.client.tx import TX_GAS_CAP, per_transaction
from consortium.operator import enrollment, jurors, settlement
from node.limits import NodeLimits


def test_the_client_sizes_batches_for_the_consortium_nodes_gas_cap():
    assert NodeLimits().tx_gas_cap == TX_GAS_CAP


def test_every_full_batch_asks_no_more_gas_than_the_cap():
    full = {
        "enrollBatch": enrollment.ENROLL_GAS + enrollment.ENROLL_GAS_PER_MEMBER * enrollment.ENROLL_CHUNK,
        "collect": settlement.COLLECT_GAS + settlement.GAS_PER_DEBIT * settlement.COLLECT_BATCH,
        "mintEach": settlement.MINT_GAS + settlement.MINT_GAS_EACH * settlement.FUND_BATCH,
    }
    assert all(gas <= TX_GAS_CAP for gas in full.values()), full
    assert settlement.REMOVE_BATCH * 80_000 + 100_000 <= TX_GAS_CAP
    assert jurors.QUALIFY_BATCH * 30_000 + 60_000 <= TX_GAS_CAP


def test_a_batch_holds_as_many_as_fit_and_at_least_one():
    assert per_transaction(80_000, 160_000, 100) == 30  # (5,000,000 - 80,000) // 160,000
    assert per_transaction(100_000, 30_000, 100) == 100  # the most it may hold
    assert (
        per_transaction(100_000, 10_000_000, 100) == 1
    )  # one item over the cap: sent alone, refused with the reason
