"""An in-process py-evm chain (eth-tester) with the suite deployed through the client library,
and a World that knows the cast: organisations, operator keys and members."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3

from consortium.client import (
    DAY,
    MAX_ALLOWANCE,
    TIER_UNDER_40,
    Attestation,
    ContractRefusal,
    Params,
    Roles,
    Rules,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
    sign_mandate,
)
from consortium.operator.enrollment import month_start

YEAR = 365 * DAY

# Small enough covers and loose enough caps that a handful of members can fund a case.
TEST_RULES = Rules(
    cover_under_40=100_000,
    cover_40_to_59=50_000,
    case_cap=1_000_000,
    year_cap=10_000_000,
    min_votes=3,
)


ROOT = b"\x11" * 32  # an evidence Merkle root
REPORT = b"\x22" * 32  # an investigator's report hash


def refused(name: str):
    """Expects the named custom error."""
    return pytest.raises(ContractRefusal, match=rf"^{name}\(")


def key(label: str) -> str:
    return "0x" + keccak(text=label).hex()


@dataclass
class World:
    w3: Web3
    tester: object
    admin: Suite  # the deployer (holds nothing after deployment)
    operator: Suite
    enroller: Suite
    investigator: Suite
    registrar: Suite
    treasurer: Suite
    orgs: list[Suite]
    treasury: str
    rules: Rules
    _count: int = 0
    members: list[Suite] = field(default_factory=list)

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def advance(self, seconds: int) -> None:
        """Moves time on by mining an empty block, so that calls (which run on the latest block) see it."""
        if seconds > 0:
            self.tester.time_travel(self.now() + seconds)
            self.tester.mine_blocks(1)

    def new_key(self) -> str:
        self._count += 1
        k = key(f"member-{self._count}-{os.getpid()}")
        self.tester.send_transaction(
            {
                "from": self.w3.eth.accounts[0],
                "to": Account.from_key(k).address,
                "value": 10**20,
                "gas": 21000,
            }
        )
        return k

    def attest(
        self,
        member: str,
        tier: int = TIER_UNDER_40,
        cover_ends_in: int = 20 * YEAR,
        identity=None,
        expiry=None,
    ):
        a = Attestation(
            member=member,
            identity=identity or identity_commitment(f"id-of-{member}"),
            tier=tier,
            cover_ends_at=month_start(self.now() + cover_ends_in),  # Membership takes only month ends
            expiry=expiry or self.now() + DAY,
        )
        sig = sign_attestation(
            self.enroller.tx.account.key, a, self.w3.eth.chain_id, self.enroller.membership.address
        )
        return a, sig

    def mandate(self, member: Suite, limit: int = MAX_ALLOWANCE):
        """The member's signed auto-debit mandate, for an enroller's batch."""
        chain, membership = self.w3.eth.chain_id, member.membership.address
        return sign_mandate(member.tx.account.key, member.address, limit, self.now() + DAY, chain, membership)

    def join(self, balance: int = 1_000_000, mandate: bool = True, **attest) -> Suite:
        """A member who joined with an unlimited auto-debit mandate and holds `balance` fen."""
        m = self.admin.as_(self.new_key())
        if balance:
            self.treasurer.token.mint(m.address, balance)
        a, sig = self.attest(m.address, **attest)
        m.membership.join(a, sig, MAX_ALLOWANCE if mandate else 0)
        self.members.append(m)
        return m

    def join_many(self, n: int, **kw) -> list[Suite]:
        return [self.join(**kw) for _ in range(n)]

    def pass_vote(self, target: str, data: bytes) -> None:
        """A strict majority of organisations approves and executes a call."""
        first, *others = self.orgs
        pid = first.governor.propose(target, data, "test")
        for org in others[: len(self.orgs) // 2]:
            org.governor.approve(pid)
        first.governor.execute(pid)

    def accept_claim(self, claimant: Suite, illness: int = 1) -> int:
        """Submit, approve, sit out the notice, finalize: the claim's usual road."""
        cid = claimant.claims.submit(illness, False, ROOT)
        self.investigator.claims.approve(cid, REPORT)
        self.advance(self.rules.notice_period)
        claimant.claims.finalize(cid)
        return cid

    def close_open_period(self):
        """Closes the open period (moving time to its end if needed); returns its PeriodClosed args."""
        pool = self.operator.pool
        self.advance(pool.period_end(pool.open_period()) - self.now())
        return pool.in_receipt(pool.close_period(), "PeriodClosed")[0]["args"]

    def close_due_periods(self) -> None:
        while self.operator.pool.period_end(self.operator.pool.open_period()) <= self.now():
            self.operator.pool.close_period()


def make_world(rules: Rules = TEST_RULES) -> World:
    w3 = Web3(EthereumTesterProvider())
    tester = w3.provider.ethereum_tester
    names = ["deployer", "operator", "enroller", "investigator", "registrar", "treasurer", "treasury",
             "org-a", "org-b", "org-c"]  # fmt: skip
    keys = {n: key(n) for n in names}
    for k in keys.values():
        tester.send_transaction(
            {"from": w3.eth.accounts[0], "to": Account.from_key(k).address, "value": 10**21, "gas": 21000}
        )
    addr = {n: Account.from_key(k).address for n, k in keys.items()}
    roles = Roles(
        organisations=(addr["org-a"], addr["org-b"], addr["org-c"]),
        operator=addr["operator"],
        enroller=addr["enroller"],
        investigator=addr["investigator"],
        juror_registrar=addr["registrar"],
        treasurer=addr["treasurer"],
        treasury=addr["treasury"],
    )
    deployment = deploy_suite(w3, keys["deployer"], Params(rules, roles))
    s = {n: Suite(w3, deployment, k) for n, k in keys.items()}
    return World(
        w3=w3,
        tester=tester,
        admin=s["deployer"],
        operator=s["operator"],
        enroller=s["enroller"],
        investigator=s["investigator"],
        registrar=s["registrar"],
        treasurer=s["treasurer"],
        orgs=[s["org-a"], s["org-b"], s["org-c"]],
        treasury=addr["treasury"],
        rules=rules,
    )
