"""Joining sent with exactly the node's eth_estimateGas (as ethers and cast send do: no margin)
lands and records the member's auto-debit mandate in the pool."""

from __future__ import annotations

from tests.support.members import applicant


def test_join_with_a_mandate_on_estimated_gas_records_the_mandate(w3, tmp_path):
    joining = applicant(w3, tmp_path / "deployment.json")
    me = joining.me
    call = me.membership.contract.functions.join(
        joining.attestation.as_tuple(), joining.signature, joining.mandate
    )
    estimate = call.estimate_gas({"from": joining.address})
    me.membership.join(joining.attestation, joining.signature, joining.mandate, gas=estimate)

    assert me.pool.mandate_of(joining.address) == me.deployment.rules.year_cap
