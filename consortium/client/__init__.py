"""The client library: the one place that knows the suite's ABIs. The wallet, the operator CLI,
the simulator, the scripts and the tests all go through it."""

from consortium.client.clock import ChainClock
from consortium.client.connection import connect
from consortium.client.deploy import deploy_suite, is_deployed
from consortium.client.errors import ContractRefusal, TransactionError
from consortium.client.rules import DAY, Params, Roles, Rules, load_params
from consortium.client.signing import (
    MAX_ALLOWANCE,
    TIER_40_TO_59,
    TIER_UNDER_40,
    Attestation,
    Mandate,
    identity_commitment,
    sign_attestation,
    sign_mandate,
    vote_commitment,
)
from consortium.client.suite import CONTRACTS, Deployment, Suite
from consortium.client.tx import Batch, Pending, Transactor, wait_all

__all__ = [
    "CONTRACTS",
    "DAY",
    "MAX_ALLOWANCE",
    "TIER_40_TO_59",
    "TIER_UNDER_40",
    "Attestation",
    "Batch",
    "ChainClock",
    "ContractRefusal",
    "Deployment",
    "Mandate",
    "Params",
    "Pending",
    "Roles",
    "Rules",
    "Suite",
    "TransactionError",
    "Transactor",
    "connect",
    "deploy_suite",
    "identity_commitment",
    "is_deployed",
    "load_params",
    "sign_attestation",
    "sign_mandate",
    "vote_commitment",
    "wait_all",
]
