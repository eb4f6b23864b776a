"""A caught inner call (the auto-debit permit in joinWithPermit) must not fail silently because a
gas estimate was too tight: sent with exactly the node's eth_estimateGas, the permit takes effect."""

from __future__ import annotations

from eth_account import Account

from consortium.client import (
    TIER_UNDER_40,
    Attestation,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
    sign_permit,
)
from consortium.operator.enrollment import month_start
from node.genesis import dev_accounts


def test_join_with_permit_on_estimated_gas_grants_the_allowance(w3, tmp_path):
    operator_key = dev_accounts(9)[8][1]
    operator = Suite(w3, deploy_suite(w3, operator_key, out=tmp_path / "deployment.json"), operator_key)
    member = Account.create()
    operator.tx.transfer_eth(member.address, 10**18)
    now = operator.now()
    attestation = Attestation(member.address, identity_commitment("110101199001011234"), TIER_UNDER_40,
                              month_start(now + 20 * 365 * 86400), now + 86400)  # fmt: skip
    signature = sign_attestation(operator_key, attestation, operator.tx.chain_id, operator.membership.address)
    me = operator.as_(member.key)
    allowance = me.deployment.rules.year_cap
    permit = sign_permit(member.key, member.address, me.pool.address, allowance, 0, now + 86400,
                         me.tx.chain_id, me.token.address)  # fmt: skip

    call = me.membership.contract.functions.joinWithPermit(
        attestation.as_tuple(), signature, permit.as_tuple()
    )
    estimate = call.estimate_gas({"from": member.address})
    me.membership.join(attestation, signature, permit, gas=estimate)  # as ethers and cast send: no margin

    assert me.token.allowance(member.address, me.pool.address) == allowance
