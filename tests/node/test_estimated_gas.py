"""A caught inner call (the auto-debit permit in joinWithPermit) must not fail silently because a
gas estimate was too tight: sent with exactly the node's eth_estimateGas, the permit takes effect."""

from __future__ import annotations

from tests.support.members import applicant


def test_join_with_permit_on_estimated_gas_grants_the_allowance(w3, tmp_path):
    joining = applicant(w3, tmp_path / "deployment.json")
    me = joining.me
    call = me.membership.contract.functions.joinWithPermit(
        joining.attestation.as_tuple(), joining.signature, joining.permit.as_tuple()
    )
    estimate = call.estimate_gas({"from": joining.address})
    # as ethers and cast send: no margin
    me.membership.join(joining.attestation, joining.signature, joining.permit, gas=estimate)

    assert me.token.allowance(joining.address, me.pool.address) == me.deployment.rules.year_cap
