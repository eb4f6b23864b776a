"""A dev chain with a year's worth of cases in miniature, for the board: six members join, one claim
is accepted and paid (so settled periods carry a share), one is rejected, one is objected to and
approved again, and one is under public notice. Made through the client library and the operator's
settlement code on a real dev node process, time moved with evm_increaseTime."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from eth_utils import keccak
from web3 import Web3

from consortium.client import (
    DAY,
    MAX_ALLOWANCE,
    TIER_40_TO_59,
    TIER_UNDER_40,
    Attestation,
    Params,
    Roles,
    Rules,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
)
from consortium.operator import settlement
from consortium.operator.enrollment import month_start
from harness.processes import DEV_ADDRESSES, DEV_KEYS, ROOT, DevNode, free_port, rpc, wait_for_rpc

RULES = Rules(cover_under_40=30_000, cover_40_to_59=10_000, case_cap=100_000, year_cap=1_000_000, min_votes=2)
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank")
EVIDENCE = b"\x11" * 32  # evidence Merkle roots: what the chain keeps of the files
REPORT = b"\x22" * 32


class Anvil:
    """anvil from its npm package: a standard node that is not ours, with the same test accounts."""

    def __init__(self, log: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(ROOT / "node_modules/.bin/anvil"), "--port", port, "--silent"], stdout=out, stderr=out
            )
        wait_for_rpc(self.url, self.proc, timeout=30, log=log)

    def rpc(self, method: str, *params):
        return rpc(self.url, method, *params)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@dataclass
class World:
    node: DevNode | Anvil
    deployment_path: Path
    w3: Web3
    ops: Suite  # the deployer: enroller, operator and treasurer
    investigator: Suite
    members: dict[str, Suite] = field(default_factory=dict)
    claims: dict[str, int] = field(default_factory=dict)

    def address(self, who: str) -> str:
        return self.members[who].address

    def advance(self, seconds: int) -> None:
        self.node.rpc("evm_increaseTime", seconds)
        self.node.rpc("evm_mine")

    def mine(self) -> int:
        self.node.rpc("evm_mine")
        return self.w3.eth.block_number

    def join(self, who: str, tier: int) -> None:
        key = "0x" + keccak(text=f"hubao web test {who}").hex()
        suite = self.ops.as_(key)
        self.ops.tx.transfer_eth(suite.address, 10**18)
        self.ops.token.mint(suite.address, 20_000)
        now = self.ops.now()
        d, chain = self.ops.deployment, self.ops.tx.chain_id
        ends = month_start(now + 20 * 365 * DAY)
        a = Attestation(suite.address, identity_commitment(who), tier, ends, now + DAY)
        signature = sign_attestation(self.ops.tx.account.key, a, chain, d.addresses["membership"])
        suite.membership.join(a, signature, MAX_ALLOWANCE)
        self.members[who] = suite

    def settle_until(self, when: int) -> None:
        """Close every period that ended by `when`, collect and pay out, as the operator does."""
        if when > self.ops.now():
            self.advance(when - self.ops.now())
        settlement.settle(self.ops)


def build(root: Path, anvil: bool = False) -> World:
    root.mkdir(parents=True, exist_ok=True)
    node = Anvil(root / "anvil.log") if anvil else DevNode.start(root / "chain")
    w3 = Web3(Web3.HTTPProvider(node.url))
    path = root / "deployment.json"
    deploy_suite(w3, DEV_KEYS[0], Params(RULES, Roles(investigator=DEV_ADDRESSES[1])), out=path)
    from consortium.client import Deployment

    d = Deployment.load(path)
    world = World(node, path, w3, Suite(w3, d, DEV_KEYS[0]), Suite(w3, d, DEV_KEYS[1]))
    for i, who in enumerate(PEOPLE):
        world.join(who, TIER_40_TO_59 if i == 2 else TIER_UNDER_40)
    world.advance(RULES.waiting_period + DAY)
    world.settle_until(0)  # the periods of the waiting period: nothing to share
    m, inv = world.members, world.investigator.claims
    # alice: accepted after the notice, paid at the next settlement
    world.claims["alice"] = m["alice"].claims.submit(1, False, EVIDENCE)
    inv.approve(world.claims["alice"], REPORT)
    world.advance(RULES.notice_period + 60)
    m["alice"].claims.finalize(world.claims["alice"])
    pool = world.ops.pool
    world.settle_until(pool.period_end(pool.open_period()) + 60)
    # carol: rejected by the investigators
    world.claims["carol"] = m["carol"].claims.submit(5, False, EVIDENCE)
    inv.reject(world.claims["carol"], REPORT)
    # bob: an accident, approved, objected to by dave, approved again: under public notice now
    world.claims["bob"] = m["bob"].claims.submit(18, True, EVIDENCE)
    inv.approve(world.claims["bob"], REPORT)
    m["dave"].claims.object(world.claims["bob"], b"\x33" * 32)
    inv.approve(world.claims["bob"], REPORT)
    return world
