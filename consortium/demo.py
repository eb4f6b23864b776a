"""`hubao demo`: one member's road from joining to a payout, and what it cost everyone else, on an
in-process py-evm chain (eth-tester) with the real contracts.

Covers are scaled down (RMB 300 instead of RMB 300,000) so that 50 members can fund a case inside
a per-case cap of RMB 10; every other rule is the plan's default."""

from __future__ import annotations

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
    Params,
    Roles,
    Rules,
    Suite,
    deploy_suite,
    identity_commitment,
    sign_attestation,
    sign_permit,
)
from consortium.evidence.bundle import Bundle
from consortium.operator.enrollment import month_start

DEMO_RULES = Rules(cover_under_40=30_000, cover_40_to_59=10_000, case_cap=1_000)
OTHERS = 49


def rmb(fen: int) -> str:
    return f"RMB {fen // 100:,}.{fen % 100:02d}"


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
@click.option("--members", type=click.IntRange(2), help="Members (demo: 2,000; walkthrough: 51).")
@click.option("--months", type=click.IntRange(1, 24), default=12, show_default=True)
@click.option("--incidence", type=float, help="Illnesses per member-year (default: as `hubao simulate`).")
@click.option(
    "--fraud-rate", type=float, help="Share of claims that are false (default: as `hubao simulate`)."
)
@click.option("--keep", is_flag=True, help="Leave the network running afterwards.")
def demo(
    walkthrough: bool,
    members: int | None,
    months: int,
    incidence: float | None,
    fraud_rate: float | None,
    keep: bool,
) -> None:
    """A year of the plan on a 4-validator consortium, reported (or --walkthrough)."""
    if walkthrough:
        return walk(members or OTHERS + 1)
    from consortium.simulation.params import SimConfig
    from consortium.simulation.showcase import run_demo

    try:
        chosen = {"members": members, "incidence": incidence, "fraud_rate": fraud_rate}
        config = SimConfig(months=months, **{k: v for k, v in chosen.items() if v is not None})
        result = run_demo(config, keep=keep)
    except (RuntimeError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    if not result["reconciled"]:
        raise SystemExit(2)


def walk(members: int) -> None:
    """Walk one member from joining through a claim to the payout and the others' shares."""
    out = Console()
    step = iter(range(1, 100))

    def say(text: str) -> None:
        out.print(f"[bold cyan]{next(step):>2}.[/] {text}")

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
    platform = Suite(stage.w3, d, keys["platform"])
    treasurer = Suite(stage.w3, d, keys["treasurer"])
    chain = stage.w3.eth.chain_id
    say(
        "Three member organisations deploy the plan. Their governor is the only admin: no single key "
        "can change a rule or move the pool's money."
    )

    def ticket(who: Suite, key: str, national_id: str):
        turns_60 = month_start(stage.now() + 28 * 365 * DAY)  # cover ends at a month's end
        a = Attestation(
            who.address, identity_commitment(national_id), TIER_UNDER_40, turns_60, stage.now() + DAY
        )
        sig = sign_attestation(keys["platform"], a, chain, d.addresses["membership"])
        pool, token = d.addresses["pool"], d.addresses["token"]
        permit = sign_permit(key, who.address, pool, MAX_ALLOWANCE, 0, stage.now() + DAY, chain, token)
        return a, sig, permit

    alice_key = stage.key("alice")
    alice = Suite(stage.w3, d, alice_key)
    treasurer.token.mint(alice.address, 5_000)
    alice.membership.join(*ticket(alice, alice_key, "alice's ID card"))
    ends = alice.membership.call("waitingEndsAt", alice.address)
    say(
        f"Alice, 32, gets an attestation from the platform and joins in [bold]one transaction[/], free of "
        f"charge, allowing the pool to debit her shares. She is {alice.membership.state_of(alice.address)} "
        f"until day {(ends - stage.now()) // DAY}."
    )

    others = []
    items = []
    for i in range(members - 1):
        k = "0x" + keccak(text=f"hubao demo member {i}").hex()
        m = Suite(stage.w3, d, k)
        treasurer.token.mint(m.address, 5_000)
        items.append(ticket(m, k, f"member {i}'s ID card"))
        others.append(m)
    platform.membership.enroll_batch(items)
    say(
        f"The platform enrolls {len(others)} more people in one batch transaction; "
        "they send nothing themselves."
    )

    stage.advance(DEMO_RULES.waiting_period + DAY)
    say(f"91 days pass. Alice is {alice.membership.state_of(alice.address)}: covered for {rmb(30_000)}.")

    evidence = Bundle.of_named(
        [("diagnosis.pdf", b"pathology report: malignant tumour"), ("bill.pdf", b"bill")]
    )
    cid = alice.claims.submit(1, False, evidence.root)
    say(
        f"Alice is diagnosed with a malignant tumour (illness code 1) and files claim #{cid}. "
        f"Only the Merkle root of her evidence goes on chain: 0x{evidence.root.hex()[:16]}…"
    )

    investigator = Suite(stage.w3, d, keys["investigator"])
    investigator.claims.approve(cid, keccak(text="investigation report"))
    notice_end = alice.claims.claim(cid).deadline
    say(
        f"The independent investigator approves it with a report hash. Claim #{cid} is under public notice "
        f"for {(notice_end - stage.now()) // DAY} days; any active member could object with evidence."
    )

    stage.advance(DEMO_RULES.notice_period)
    platform.claims.finalize(cid)
    say(
        f"Nobody objects. The claim is {alice.claims.status(cid)}; Alice's membership ends "
        f"({alice.membership.state_of(alice.address)}) and she stops sharing before this period's costs."
    )

    pool = platform.pool
    closed = None
    while closed is None or pool.period_end(pool.open_period()) <= stage.now():  # catch up, in order
        stage.advance(pool.period_end(pool.open_period()) - stage.now())
        args = pool.in_receipt(pool.close_period(), "PeriodClosed")[0]["args"]
        closed = args if args["cases"] else closed
    say(
        f"The half-month closes: need = payout {rmb(closed['payouts'])} + 8% fee {rmb(closed['fees'])} = "
        f"{rmb(closed['payouts'] + closed['fees'])}, shared by {closed['sharing']} members: "
        f"[bold]{rmb(closed['share'])} each[/] (rounded up to the fen; "
        f"{rmb(closed['surplus'])} surplus carried)."
    )
    if closed["shortfall"]:
        say(
            f"The per-case cap held the share back: {rmb(closed['shortfall'])} is carried into the next "
            "period, and Alice is paid that part once it is collected."
        )

    pool.collect([m.address for m in others])
    say(f"The platform auto-debits all {len(others)} members in one transaction; no member sends anything.")

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
        "operator treasury", rmb(alice.token.balance_of(addr["treasury"])), f"+{rmb(closed['fees'])}"
    )
    table.add_row("pool", rmb(alice.token.balance_of(d.addresses["pool"])), "surplus kept")
    out.print(table)
    t = pool.totals()
    held = alice.token.balance_of(d.addresses["pool"])
    assert held == t.paidIn - t.paidOut - t.feesPaid
    say(
        f"Books: paid in {rmb(t.paidIn)} - paid out {rmb(t.paidOut)} - fees {rmb(t.feesPaid)} = "
        f"{rmb(held)}, exactly what the pool holds."
    )
