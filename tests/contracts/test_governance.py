"""No single key rules the suite: the governor is the only admin, and it needs a majority."""

from types import SimpleNamespace

from eth_utils import keccak

from consortium.client import ContractRefusal
from consortium.client.contracts import Governor
from consortium.client.errors import decode_revert
from consortium.wallet.words import explain
from consortium.web.console import governor_proposals
from tests.contracts.world import refused

ADMIN = b"\0" * 32


def test_governor_is_the_only_admin_of_every_contract(world):
    gov = world.operator.governor.address
    for c in (
        world.admin.token,
        world.admin.membership,
        world.admin.pool,
        world.admin.claims,
        world.admin.jury,
    ):
        assert c.call("hasRole", ADMIN, gov)
        assert not c.call("hasRole", ADMIN, world.admin.address)
        assert not c.call("hasRole", ADMIN, world.operator.address)


def test_deployer_and_operator_cannot_grant_roles_or_move_money(world):
    role = keccak(text="TREASURER_ROLE")
    with refused("AccessControlUnauthorizedAccount"):
        world.admin.token.send("grantRole", role, world.admin.address)
    with refused("AccessControlUnauthorizedAccount"):
        world.operator.pool.send("setTreasury", world.operator.address)
    with refused("AccessControlUnauthorizedAccount"):
        world.operator.token.mint(world.operator.address, 1)


def test_a_role_change_needs_a_strict_majority(world):
    a, b, c = world.orgs
    token = a.token
    data = token.contract.encode_abi("grantRole", [keccak(text="TREASURER_ROLE"), world.operator.address])
    pid = a.governor.propose(token.address, data, "operator may mint")
    with refused("NoMajority"):
        a.governor.execute(pid)
    with refused("AlreadyApproved"):
        a.governor.approve(pid)
    with refused("NotAnOrganisation"):
        world.operator.governor.approve(pid)
    b.governor.approve(pid)
    assert a.governor.approvals(pid) == 2
    c.governor.execute(pid)
    assert token.has_role("TREASURER_ROLE", world.operator.address)
    with refused("AlreadyExecuted"):
        a.governor.execute(pid)
    assert a.governor.events("ProposalExecuted")[-1]["args"]["id"] == pid


def test_organisations_change_only_by_vote_and_a_removed_vote_lapses(world):
    a, b, c = world.orgs
    with refused("OnlyByConsortiumVote"):
        a.governor.send("addOrganisation", world.operator.address)
    gov = a.governor
    pending = gov.propose(a.token.address, b"", "kept pending")
    b.governor.approve(pending)
    world.pass_vote(gov.address, gov.contract.encode_abi("removeOrganisation", [b.address]))
    assert b.address not in gov.organisations()
    assert gov.approvals(pending) == 1  # b's approval no longer counts
    pid = gov.propose(gov.address, gov.contract.encode_abi("addOrganisation", [world.operator.address]))
    with refused("NoMajority"):
        gov.execute(pid)  # two organisations left: one is not a strict majority
    c.governor.approve(pid)
    gov.execute(pid)
    assert len(gov.organisations()) == 3


def failing_vote(world, target, data) -> str:
    """Passes a vote on a call that reverts; returns the inner refusal's name."""
    a, b, _ = world.orgs
    pid = a.governor.propose(target, data, "doomed")
    b.governor.approve(pid)
    with refused("ProposalCallFailed") as err:
        a.governor.execute(pid)
    assert err.value.args_[0] == pid
    return decode_revert(err.value.args_[1]).name


def test_failing_proposal_reports_the_inner_refusal(world):
    pool, gov, membership = world.admin.pool, world.admin.governor, world.admin.membership
    assert failing_vote(world, pool.address, pool.contract.encode_abi("setTreasury", ["0x" + "00" * 20])) == (
        "ZeroAddress"
    )
    a = world.orgs[0].address
    assert (
        failing_vote(world, gov.address, gov.contract.encode_abi("addOrganisation", [a]))
        == "AlreadyAnOrganisation"
    )
    wiring = membership.contract.encode_abi("connect", [pool.address])
    assert failing_vote(world, membership.address, wiring) == "AlreadyConnected"  # wired once, for good


def test_unknown_proposal(world):
    with refused("UnknownProposal"):
        world.orgs[0].governor.approve(99)


def test_a_governor_needs_organisations_and_keeps_its_last_one(world):
    from consortium.client.abi import artifacts

    art = artifacts()["ConsortiumGovernor"]
    factory = world.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    org = world.orgs[0]
    with refused("NoOrganisations"):
        org.tx.send(factory.constructor([]))
    receipt = org.tx.send(factory.constructor([org.address]))
    lone = Governor(world.w3, receipt["contractAddress"], org.tx)
    pid = lone.propose(lone.address, lone.contract.encode_abi("removeOrganisation", [org.address]))
    with refused("ProposalCallFailed") as err:
        lone.execute(pid)
    assert decode_revert(err.value.args_[1]).name == "CannotRemoveLastOrganisation"


def test_token_has_two_decimals_and_only_the_treasurer_mints_and_burns(world):
    t = world.treasurer.token
    assert t.call("decimals") == 2
    assert t.call("name") == "Hubao RMB"
    t.mint(world.treasurer.address, 1234)
    t.burn(234)
    assert t.balance_of(world.treasurer.address) == 1000
    with refused("AccessControlUnauthorizedAccount"):
        world.operator.token.burn(1)


def test_a_proposal_expires_and_its_old_approvals_pass_nothing(world):
    a, b, c = world.orgs
    gov = a.governor
    lifetime = gov.proposal_lifetime()
    assert lifetime == 7 * 86_400
    data = a.token.contract.encode_abi("grantRole", [keccak(text="TREASURER_ROLE"), world.operator.address])
    pid = gov.propose(a.token.address, data, "operator may mint")
    created = world.now()
    assert gov.proposal(pid).expiresAt == created + lifetime
    b.governor.approve(pid)  # a majority, gathered in time
    console = SimpleNamespace(suite=a)  # what the web console lists as open proposals
    assert pid in [row["id"] for row in governor_proposals(console)]
    world.advance(lifetime)
    assert pid not in [row["id"] for row in governor_proposals(console)]  # expired: no longer open
    with refused("ProposalExpired") as err:
        gov.execute(pid)
    assert err.value.args_ == (pid, created + lifetime)
    assert explain(err.value).startswith(f"proposal #{pid} expired on ")
    with refused("ProposalExpired"):
        c.governor.approve(pid)
    assert not a.token.has_role("TREASURER_ROLE", world.operator.address)


def test_the_proposal_lifetime_changes_only_by_vote_and_within_bounds(world):
    gov = world.orgs[0].governor
    with refused("OnlyByConsortiumVote"):
        gov.send("setProposalLifetime", 3600)
    assert failing_vote(world, gov.address, gov.contract.encode_abi("setProposalLifetime", [60])) == (
        "LifetimeOutOfRange"
    )
    too_long = gov.contract.encode_abi("setProposalLifetime", [366 * 86_400])
    assert failing_vote(world, gov.address, too_long) == "LifetimeOutOfRange"
    world.pass_vote(gov.address, gov.contract.encode_abi("setProposalLifetime", [2 * 86_400]))
    assert gov.proposal_lifetime() == 2 * 86_400
    kept = gov.propose(gov.address, b"", "made under the new lifetime")
    assert gov.proposal(kept).expiresAt == world.now() + 2 * 86_400
    assert explain(ContractRefusal("LifetimeOutOfRange", (60, 3600, 365 * 86_400))) == (
        "a proposal may live from 1 hour to 365 days, not 1 minute"
    )
