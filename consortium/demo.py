"""`hubao demo`: one member's road from joining to a payout, and what it cost everyone else, on an
in-process py-evm chain (eth-tester) with the real contracts.

Covers are scaled down (RMB 300 instead of RMB 300,000) so that 50 members can fund a case inside
a per-case cap of RMB 10; every other rule is the plan's default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import click
from eth_account import Account
from eth_utils import keccak
from rich.console import Console
from rich.table import Table
from web3 import EthereumTesterProvider, Web3

from consortium.client import (
    DAY,
    MAX_ALLOWANCE,
    TIER_UNDER_40,
    Attestation,
    Deployment,
    Params,
    Roles,
    Rules,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
    sign_mandate,
)
from consortium.client.money import rmb
from consortium.evidence.bundle import Bundle
from consortium.operator.enrollment import month_start
from consortium.simulation.cli import months_option, scenario_option

DEMO_RULES = Rules(cover_under_40=30_000, cover_40_to_59=10_000, case_cap=1_000)
OTHERS = 49
DEMO_FOUNDERS = 5_000  # `make demo`: founders through a year, in about ten minutes on 2 cores


class Stage:
    """An in-process chain, its funded keys, and a way to move the clock."""

    def __init__(self):
        self.w3 = Web3(EthereumTesterProvider())
        self.tester = self.w3.provider.ethereum_tester

    def key(self, label: str) -> str:
        key = "0x" + keccak(text=f"hubao demo {label}").hex()
        address = Account.from_key(key).address
        self.tester.send_transaction(
            {"from": self.w3.eth.accounts[0], "to": address, "value": 10**20, "gas": 21_000}
        )
        return key

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def advance(self, seconds: int) -> None:
        if seconds > 0:
            self.tester.time_travel(self.now() + seconds)
            self.tester.mine_blocks(1)


@click.command("demo")
@click.option("--walkthrough", is_flag=True, help="Instead: one member's road on an in-process chain.")
@click.option("--members", type=click.IntRange(2), help="Members (demo: 5,000; walkthrough: 51).")
@months_option
@scenario_option
@click.option("--incidence", type=float, help="Illnesses per member-year (default: as `hubao simulate`).")
@click.option(
    "--fraud-rate", type=float, help="Share of claims that are false (default: as `hubao simulate`)."
)
@click.option("--keep", is_flag=True, help="Leave the network running afterwards.")
def demo(
    walkthrough: bool,
    members: int | None,
    months: int | None,
    scenario: str,
    incidence: float | None,
    fraud_rate: float | None,
    keep: bool,
) -> None:
    """A year of the plan on a 4-validator consortium, reported (or --walkthrough)."""
    if walkthrough:
        return walk(members or OTHERS + 1)
    from consortium.simulation.params import SimConfig, default_months
    from consortium.simulation.showcase import run_demo

    try:
        chosen = {"members": members or DEMO_FOUNDERS, "incidence": incidence, "fraud_rate": fraud_rate}
        months = months or default_months(scenario)
        config = SimConfig(
            months=months, scenario=scenario, **{k: v for k, v in chosen.items() if v is not None}
        )
        result = run_demo(config, keep=keep)
    except (RuntimeError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    if not result["reconciled"]:
        raise SystemExit(2)


@dataclass
class Walk:
    """The walk-through's cast on one in-process chain, and how it tells the story."""

    stage: Stage
    out: Console
    keys: dict[str, str]
    addr: dict[str, str]
    deployment: Deployment
    platform: Suite
    treasurer: Suite
    steps: Iterator[int] = field(default_factory=lambda: iter(range(1, 100)))
    alice: Suite | None = None
    others: list[Suite] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.out.print(f"[bold cyan]{next(self.steps):>2}.[/] {text}")

    def ticket(self, who: Suite, key: str, national_id: str):
        """An attestation for the person (the platform signs) and their auto-debit mandate (they sign,
        for the platform to enroll them with), both off chain."""
        now, d, chain = self.stage.now(), self.deployment, self.deployment.chain_id
        a = Attestation(
            who.address,
            identity_commitment(national_id),
            TIER_UNDER_40,
            month_start(now + 28 * 365 * DAY),
            now + DAY,
        )
        sig = sign_attestation(self.keys["platform"], a, chain, d.addresses["membership"])
        mandate = sign_mandate(key, who.address, MAX_ALLOWANCE, now + DAY, chain, d.addresses["membership"])
        return a, sig, mandate


def walk(members: int) -> None:
    """Walk one member from joining through a claim to the payout and the others' shares."""
    w = deploy_walk()
    alice_joins(w)
    others_enrolled(w, members - 1)
    w.stage.advance(DEMO_RULES.waiting_period + DAY)
    w.say(
        f"91 days pass. Alice is {w.alice.membership.state_of(w.alice.address)}: covered for {rmb(30_000)}."
    )
    alice_claims(w)
    closed = period_closes(w)
    collected_and_paid(w, closed)


def deploy_walk() -> Walk:
    stage = Stage()
    names = ["deployer", "org-a", "org-b", "org-c", "platform", "investigator", "treasurer", "treasury"]
    keys = {n: stage.key(n) for n in names}
    addr = {n: Account.from_key(k).address for n, k in keys.items()}
    roles = Roles(
        organisations=(addr["org-a"], addr["org-b"], addr["org-c"]),
        operator=addr["platform"],
        enroller=addr["platform"],
        investigator=addr["investigator"],
        juror_registrar=addr["platform"],
        treasurer=addr["treasurer"],
        treasury=addr["treasury"],
    )
    d = deploy_suite(stage.w3, keys["deployer"], Params(DEMO_RULES, roles))
    w = Walk(
        stage,
        Console(),
        keys,
        addr,
        d,
        Suite(stage.w3, d, keys["platform"]),
        Suite(stage.w3, d, keys["treasurer"]),
    )
    w.say(
        "Three member organisations deploy the plan. Their governor is the only admin: no single key "
        "can change a rule or move the pool's money."
    )
    return w


def alice_joins(w: Walk) -> None:
    alice_key = w.stage.key("alice")
    alice = w.alice = Suite(w.stage.w3, w.deployment, alice_key)
    w.treasurer.token.mint(alice.address, 5_000)
    a, sig, _ = w.ticket(alice, alice_key, "alice's ID card")
    alice.membership.join(a, sig, MAX_ALLOWANCE)
    ends = alice.membership.waiting_ends_at(alice.address)
    w.say(
        f"Alice, 32, gets an attestation from the platform and joins in [bold]one transaction[/], free of "
        f"charge, allowing the pool to debit her shares. She is {alice.membership.state_of(alice.address)} "
        f"until day {(ends - w.stage.now()) // DAY}."
    )


def others_enrolled(w: Walk, count: int) -> None:
    items = []
    for i in range(count):
        k = "0x" + keccak(text=f"hubao demo member {i}").hex()
        m = Suite(w.stage.w3, w.deployment, k)
        w.treasurer.token.mint(m.address, 5_000)
        a, _, mandate = w.ticket(m, k, f"member {i}'s ID card")
        items.append((a, mandate))
        w.others.append(m)
    w.platform.membership.enroll_batch(items)
    w.say(f"The platform enrolls {count} more people in one batch transaction; they send nothing themselves.")


def alice_claims(w: Walk) -> int:
    """Alice's claim: evidence root on chain, the investigator's approval, the notice, the payout."""
    alice, stage = w.alice, w.stage
    evidence = Bundle.of_named(
        [("diagnosis.pdf", b"pathology report: malignant tumour"), ("bill.pdf", b"bill")]
    )
    cid = alice.claims.submit(1, False, evidence.root)
    w.say(
        f"Alice is diagnosed with a malignant tumour (illness code 1) and files claim #{cid}. "
        f"Only the Merkle root of her evidence goes on chain: 0x{evidence.root.hex()[:16]}…"
    )
    investigator = Suite(stage.w3, w.deployment, w.keys["investigator"])
    investigator.claims.approve(cid, keccak(text="investigation report"))
    notice_end = alice.claims.claim(cid).deadline
    w.say(
        f"The independent investigator approves it with a report hash. Claim #{cid} is under public notice "
        f"for {(notice_end - stage.now()) // DAY} days; any active member could object with evidence."
    )
    stage.advance(DEMO_RULES.notice_period)
    w.platform.claims.finalize(cid)
    w.say(
        f"Nobody objects. The claim is {alice.claims.status(cid)}; Alice's membership ends "
        f"({alice.membership.state_of(alice.address)}) and she stops sharing before this period's costs."
    )
    return cid


def period_closes(w: Walk) -> dict:
    """The periods that ended close in order; the one that carries Alice's case is told."""
    pool, stage = w.platform.pool, w.stage
    closed = None
    while closed is None or pool.period_end(pool.open_period()) <= stage.now():  # catch up, in order
        stage.advance(pool.period_end(pool.open_period()) - stage.now())
        args = pool.in_receipt(pool.close_period(), "PeriodClosed")[0]["args"]
        closed = args if args["cases"] else closed
    w.say(
        f"The half-month closes: need = payout {rmb(closed['payouts'])} + 8% fee {rmb(closed['fees'])} = "
        f"{rmb(closed['payouts'] + closed['fees'])}, shared by {closed['sharing']} members: "
        f"[bold]{rmb(closed['share'])} each[/] (rounded up to the fen; "
        f"{rmb(closed['surplus'])} surplus carried)."
    )
    if closed["shortfall"]:
        w.say(
            f"The per-case cap held the share back: {rmb(closed['shortfall'])} is carried into the next "
            "period, and Alice is paid that part once it is collected."
        )
    return closed


def collected_and_paid(w: Walk, closed: dict) -> None:
    pool, others, alice, d = w.platform.pool, w.others, w.alice, w.deployment
    pool.collect([m.address for m in others])
    w.say(f"The platform auto-debits all {len(others)} members in one transaction; no member sends anything.")
    pool.disburse()
    table = Table(title="After the payout")
    table.add_column("who")
    table.add_column("balance", justify="right")
    table.add_column("change", justify="right")
    table.add_row("Alice", rmb(alice.token.balance_of(alice.address)), f"+{rmb(closed['payouts'])}")
    table.add_row(
        "a typical member", rmb(others[0].token.balance_of(others[0].address)), f"-{rmb(closed['share'])}"
    )
    table.add_row(
        "operator treasury", rmb(alice.token.balance_of(w.addr["treasury"])), f"+{rmb(closed['fees'])}"
    )
    table.add_row("pool", rmb(alice.token.balance_of(d.addresses["pool"])), "surplus kept")
    w.out.print(table)
    t = pool.totals()
    held = alice.token.balance_of(d.addresses["pool"])
    assert held == t.paidIn - t.paidOut - t.feesPaid
    w.say(
        f"Books: paid in {rmb(t.paidIn)} - paid out {rmb(t.paidOut)} - fees {rmb(t.feesPaid)} = "
        f"{rmb(held)}, exactly what the pool holds."
    )
