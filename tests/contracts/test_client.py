"""The client library's own promises: pipelined sends, deployment files, params, event queries."""

import pytest

from consortium.client import (
    ContractRefusal,
    Deployment,
    TransactionError,
    deploy_suite,
    is_deployed,
    load_params,
    wait_all,
)


def test_many_sends_in_flight_then_waited_together(world):
    t = world.treasurer
    start = t.w3.eth.get_transaction_count(t.address)
    pending = [t.token.mint(world.treasury, i + 1, wait=False) for i in range(20)]
    receipts = wait_all(pending)
    assert [r["status"] for r in receipts] == [1] * 20
    assert t.w3.eth.get_transaction_count(t.address) == start + 20
    assert t.token.balance_of(world.treasury) == sum(range(1, 21))
    minted = t.token.events("Transfer", to=world.treasury)
    assert [e["args"]["value"] for e in minted][-20:] == list(range(1, 21))


def test_a_refused_send_in_a_batch_is_named_and_the_rest_land(world):
    stranger = world.admin.as_(world.new_key())
    pending = [
        world.treasurer.token.mint(world.treasury, 5, wait=False),
        stranger.token.mint(world.treasury, 5, wait=False),
    ]
    ok, refused = wait_all(pending, strict=False)
    assert ok["status"] == 1
    assert isinstance(refused, ContractRefusal) and refused.name == "AccessControlUnauthorizedAccount"
    assert refused.args_[0] == stranger.address


def test_deployment_file_round_trip_and_reuse(world, tmp_path):
    d = world.operator.deployment
    path = tmp_path / "deployment.json"
    d.save(path)
    assert Deployment.load(path) == d
    assert is_deployed(world.w3, d)
    height = world.w3.eth.block_number
    assert deploy_suite(world.w3, world.admin.tx.account.key, out=path) == d  # live: nothing sent
    assert world.w3.eth.block_number == height
    elsewhere = Deployment(**{**d.__dict__, "chain_id": d.chain_id + 1})
    assert not is_deployed(world.w3, elsewhere)


def test_params_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('[rules]\nfee_bps = 500\n[roles]\noperator = "0x' + "ab" * 20 + '"\n')
    p = load_params(f)
    assert p.rules.fee_bps == 500 and p.rules.waiting_period == 90 * 86_400
    assert p.roles.filled("0xME").operator == "0x" + "ab" * 20 and p.roles.filled("0xME").enroller == "0xME"
    f.write_text("[rule]\nfee_bps = 1\n")
    with pytest.raises(ValueError, match="unknown table"):
        load_params(f)


def test_out_of_gas_is_a_transaction_error_not_a_refusal(world):
    with pytest.raises(TransactionError, match="out of gas"):
        world.treasurer.token.mint(world.treasury, 1, gas=30_000)
    assert world.treasurer.token.mint(world.treasury, 1)["status"] == 1  # the nonce moved on correctly


def test_the_treasurer_funds_many_accounts_in_one_transaction_and_nobody_else_can(world):
    people = [world.new_key() for _ in range(5)]
    addresses = [world.treasurer.as_(k).address for k in people]
    supply = world.treasurer.token.call("totalSupply")
    world.treasurer.token.mint_each(addresses, 18_800)
    assert [world.treasurer.token.balance_of(a) for a in addresses] == [18_800] * 5
    assert world.treasurer.token.call("totalSupply") == supply + 5 * 18_800
    stranger = world.treasurer.as_(people[0])
    with pytest.raises(ContractRefusal, match="AccessControlUnauthorizedAccount"):
        stranger.token.mint_each(addresses, 1)


def test_calls_are_encoded_as_web3_encodes_them(world):
    """The client encodes calls itself (web3's encoders are too slow for thousands of members):
    the same bytes as web3's for plain, array and struct arguments, and reads decode alike."""
    from consortium.client import Attestation, Mandate
    from consortium.client.bound import _functions

    m = world.join()
    a = Attestation(m.address, b"\x01" * 32, 1, 2**40, 2**39)
    mandate = Mandate(5, 6, b"\x02" * 32, b"\x03" * 32)
    row = (m.address, 1, 2**40, b"\x01" * 32, mandate.limit, mandate.deadline, mandate.r, mandate.vs)
    cases = [
        (m.membership, "join", (a.as_tuple(), b"\x04" * 65, 2**88 - 1)),
        (m.membership, "enrollBatch", ([row],)),
        (m.pool, "collect", ([m.address, world.admin.address], 7)),
        (m.claims, "submit", (3, True, b"\x05" * 32)),
        (m.jury, "commit", (1, b"\x06" * 32)),
    ]
    for bound, name, args in cases:
        assert _functions(bound.artifact)[name].calldata(args) == bound.contract.encode_abi(name, list(args))
    assert m.membership.member_each([m.address]) == [m.membership.member(m.address)]
    assert m.pool.account_each([m.address]) == [m.pool.account(m.address)]
