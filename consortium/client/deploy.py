"""Deploy the suite to any JSON-RPC node, wire it, and hand every admin right to the governor.

All transactions are sent without waiting (addresses follow from the deployer's nonces), then
awaited together, so a deployment costs a few blocks on a chain with real block times."""

from __future__ import annotations

from pathlib import Path

import rlp
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from consortium.client.abi import artifacts as load_artifacts
from consortium.client.errors import TransactionError
from consortium.client.rules import Params
from consortium.client.suite import CONTRACTS, Deployment
from consortium.client.tx import Transactor, wait_all

WIRING_GAS = 250_000
ORDER = ("governor", "token", "membership", "pool", "claims", "jury")


def create_address(sender: str, nonce: int) -> str:
    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:])


def is_deployed(w3: Web3, deployment: Deployment) -> bool:
    """Same chain, and every contract's code is where the file says (immutables aside, same size)."""
    if w3.eth.chain_id != deployment.chain_id:
        return False
    artifacts = load_artifacts()
    for name, artifact in CONTRACTS.items():
        code = w3.eth.get_code(Web3.to_checksum_address(deployment.addresses[name]))
        if len(code) == 0 or len(code) != (len(artifacts[artifact]["deployed"]) - 2) // 2:
            return False
    return True


def deploy_suite(
    w3: Web3, key: str | bytes, params: Params | None = None, out: str | Path | None = None
) -> Deployment:
    """Deploy (or, if `out` already describes a live deployment on this chain, reuse) the suite."""
    params = params or Params()
    if out is not None and Path(out).exists():
        existing = Deployment.load(out)
        if is_deployed(w3, existing):
            return existing
    tx = Transactor(w3, key)
    me = tx.address
    roles = params.roles.filled(me)
    rules = params.rules.as_tuple()
    artifacts = load_artifacts()
    latest = w3.eth.get_block("latest")
    start = latest["timestamp"]

    first = tx.next_nonce()
    tx.resync()
    addr = {name: create_address(me, first + i) for i, name in enumerate(ORDER)}
    args = {
        "governor": [list(roles.organisations)],
        "token": [me],
        "membership": [rules, me],
        "pool": [rules, addr["token"], roles.treasury, start, me],
        "claims": [rules, me],
        "jury": [rules, me],
    }
    pending = []
    for name in ORDER:
        artifact = artifacts[CONTRACTS[name]]
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        ctor = factory.constructor(*args[name])
        pending.append(tx.send(ctor, wait=False, gas=tx.estimate(ctor)))

    c = {name: w3.eth.contract(address=addr[name], abi=artifacts[CONTRACTS[name]]["abi"]) for name in ORDER}

    calls = [
        c["membership"].functions.connect(addr["pool"]),
        c["pool"].functions.connect(addr["membership"]),
        c["claims"].functions.connect(addr["membership"], addr["pool"], addr["jury"]),
        c["jury"].functions.connect(addr["pool"]),
    ]
    grants = [
        ("token", "TREASURER_ROLE", roles.treasurer),
        ("token", "COLLECTOR_ROLE", addr["pool"]),
        ("membership", "ENROLLER_ROLE", roles.enroller),
        ("membership", "SUITE_ROLE", addr["claims"]),
        ("membership", "SUITE_ROLE", addr["pool"]),
        ("pool", "SUITE_ROLE", addr["membership"]),
        ("pool", "SUITE_ROLE", addr["claims"]),
        ("pool", "OPERATOR_ROLE", roles.operator),
        ("claims", "INVESTIGATOR_ROLE", roles.investigator),
        ("jury", "JUROR_REGISTRAR_ROLE", roles.juror_registrar),
        ("jury", "SUITE_ROLE", addr["claims"]),
    ]
    calls += [c[name].functions.grantRole(keccak(text=r), account) for name, r, account in grants]
    for name in ORDER[1:]:  # the governor becomes the only admin; the deployer keeps nothing
        calls.append(c[name].functions.grantRole(b"\0" * 32, addr["governor"]))
        calls.append(c[name].functions.renounceRole(b"\0" * 32, me))
    for fn in calls:
        pending.append(tx.send(fn, wait=False, gas=WIRING_GAS))

    receipts = wait_all(pending)
    for name, receipt in zip(ORDER, receipts, strict=False):
        if Web3.to_checksum_address(receipt["contractAddress"]) != addr[name]:
            raise TransactionError(f"{name} landed at {receipt['contractAddress']}, expected {addr[name]}")
    deployment = Deployment(
        chain_id=w3.eth.chain_id,
        block=receipts[0]["blockNumber"],
        start=start,
        deployer=me,
        addresses=addr,
        rules=params.rules,
        roles=roles,
    )
    if out is not None:
        deployment.save(out)
    return deployment
