"""Row: the transaction pool. One funded account tries to fill a node's memory through its pool:
huge transactions behind a nonce gap, more transactions than the pool holds, more waiting
transactions than an account may queue, more than its funds cover across its transactions; and
an account removed from the allowlist keeps nothing in any node's pool.

The dev node runs with geth's bounds scaled down (`--txpool-*` flags) and seals only on
`evm_mine`, so the pool stays full while the attack runs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from consortium.cli import main as cli_main
from harness.attacks import GWEI, raw
from harness.probes import rss_mib
from harness.processes import DevNode, rpc
from node.genesis import dev_accounts
from tests.hostile.conftest import answered_honestly, honest_client

ACCOUNT_SLOTS, GLOBAL_SLOTS, ACCOUNT_QUEUE, GLOBAL_QUEUE, LIFETIME = 4, 24, 6, 12, 2.0
MEMORY_BOUND_MIB = 40  # the 20 x 2.5 MB attack grew a node by 101 MiB before the size limit


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    limits = {
        "--txpool-account-slots": ACCOUNT_SLOTS, "--txpool-global-slots": GLOBAL_SLOTS,
        "--txpool-account-queue": ACCOUNT_QUEUE, "--txpool-global-queue": GLOBAL_QUEUE,
        "--txpool-lifetime": LIFETIME,
    }  # fmt: skip
    extra = [str(x) for pair in limits.items() for x in pair] + ["--accounts", "20"]
    dev = DevNode.start(tmp_path_factory.mktemp("pool") / "data", block_time=3600, extra=extra)
    yield dev
    dev.stop()


@functools.cache
def dev_key(i: int) -> str:
    return "0x" + dev_accounts(20)[i][1].hex()


def send(node, tx: str) -> tuple[int, str] | str:
    """The tx hash, or (code, message) of the refusal."""
    try:
        return rpc(node.url, "eth_sendRawTransaction", tx)
    except RuntimeError as exc:
        return exc.args[0], exc.args[1]


def nonce_of(node, key: str) -> int:
    return int(rpc(node.url, "eth_getTransactionCount", Account.from_key(key).address, "latest"), 16)


def status(node) -> tuple[int, int]:
    s = rpc(node.url, "txpool_status")
    return int(s["pending"], 16), int(s["queued"], 16)


def mine_all(node) -> None:
    while status(node) != (0, 0) and status(node)[0]:
        rpc(node.url, "evm_mine")


def test_oversized_transactions_behind_a_nonce_gap_cost_no_memory(node):
    """The issue's attack: 20 x 2.5 MB transactions at future nonces (geth's txMaxSize: 128 KB)."""
    key = dev_key(1)
    base = nonce_of(node, key)
    before = rss_mib(node.proc.pid)
    huge = [raw(key, base + 5 + i, data=bytes([1 + i]) * 2_500_000) for i in range(20)]
    with honest_client(node.url) as probe:
        refusals = [send(node, tx) for tx in huge]
        honest = send(node, raw(dev_key(2), nonce_of(node, dev_key(2))))
        rpc(node.url, "evm_mine")
    grown = rss_mib(node.proc.pid) - before
    assert refusals == [
        (-32000, f"oversized data: transaction size {len(tx) // 2 - 1}, limit 131072") for tx in huge
    ]
    assert rpc(node.url, "eth_getTransactionReceipt", honest)["status"] == "0x1"
    assert grown < MEMORY_BOUND_MIB, f"resident memory grew by {grown:.0f} MiB"
    assert answered_honestly(probe)
    assert node.log().count("refused from an RPC client: oversized data") == 1  # once per client


def test_a_full_pool_keeps_room_for_honest_senders(node):
    """Executable slots (geth's globalslots): a flood from one account fills them; an honest
    sender's transaction pushes out the flooder's last one (it is over its accountslots share);
    among senders within their share only a better-paying newcomer gets in."""
    mine_all(node)
    flooder = dev_key(3)
    first = nonce_of(node, flooder)
    answers = [send(node, raw(flooder, first + i)) for i in range(GLOBAL_SLOTS + 1)]
    assert [a for a in answers if isinstance(a, tuple)] == [(-32000, "txpool is full")]
    assert status(node) == (GLOBAL_SLOTS, 0)
    honest = send(node, raw(dev_key(4), nonce_of(node, dev_key(4))))
    assert isinstance(honest, str) and status(node) == (GLOBAL_SLOTS, 0)
    assert rpc(node.url, "eth_getTransactionByHash", answers[GLOBAL_SLOTS - 1]) is None  # pushed out
    rpc(node.url, "evm_mine")
    assert rpc(node.url, "eth_getTransactionReceipt", honest)["status"] == "0x1"
    mine_all(node)
    # senders within their share: equal pay is refused, better pay pushes out the cheapest
    for i in range(GLOBAL_SLOTS // ACCOUNT_SLOTS):
        key = dev_key(5 + i)
        for n in range(ACCOUNT_SLOTS):
            assert isinstance(send(node, raw(key, nonce_of(node, key) + n)), str)
    newcomer = dev_key(5 + GLOBAL_SLOTS // ACCOUNT_SLOTS)
    assert send(node, raw(newcomer, nonce_of(node, newcomer))) == (-32000, "transaction underpriced")
    assert isinstance(send(node, raw(newcomer, nonce_of(node, newcomer), tip=2 * GWEI)), str)
    assert status(node) == (GLOBAL_SLOTS, 0)
    mine_all(node)


def test_waiting_transactions_are_bounded_and_expire(node):
    """accountqueue and globalqueue, and the lifetime (geth's 3 h; 2 s here) of transactions
    waiting behind a nonce gap, ended by the node's timer with nothing else happening."""
    key = dev_key(1)
    gap = nonce_of(node, key) + 1
    answers = [send(node, raw(key, gap + i)) for i in range(ACCOUNT_QUEUE + 3)]
    assert [a for a in answers if isinstance(a, tuple)] == [(-32000, "account limit exceeded")] * 3
    for key in (dev_key(2), dev_key(3)):
        for i in range(ACCOUNT_QUEUE):
            send(node, raw(key, nonce_of(node, key) + 1 + i))
    assert status(node)[1] == GLOBAL_QUEUE  # the fullest, oldest account gave way for the others
    with honest_client(node.url) as probe:
        deadline = LIFETIME + 5
        waited = 0.0
        while status(node)[1] and waited < deadline:
            probe._stop.wait(0.1)
            waited += 0.1
    assert status(node) == (0, 0), "waiting transactions outlived their lifetime"
    assert answered_honestly(probe)


def test_funds_are_checked_across_a_senders_transactions(node):
    """geth's overdraft check: a sender may not queue more than its balance covers in all."""
    poor = Account.create()
    cost = 21_000 * 20 * GWEI + 1
    funding = send(node, raw(dev_key(6), nonce_of(node, dev_key(6)), value=2 * cost, to=poor.address))
    rpc(node.url, "evm_mine")
    assert rpc(node.url, "eth_getTransactionReceipt", funding)["status"] == "0x1"
    key = poor.key.to_0x_hex()
    assert isinstance(send(node, raw(key, 0)), str) and isinstance(send(node, raw(key, 1)), str)
    code, message = send(node, raw(key, 2))
    assert (code, message) == (
        -32000,
        f"insufficient funds for gas * price + value: balance {2 * cost}, queued cost {2 * cost}, "
        f"tx cost {cost}, overshot {cost}",
    )
    code, message = send(node, raw(key, 1, tip=2 * GWEI, fee=40 * GWEI))  # a replacement over budget
    assert code == -32000 and "insufficient funds for gas * price + value" in message
    mine_all(node)
    assert nonce_of(node, key) == 2


def test_accounts_removed_from_the_allowlist_leave_every_pool(consortium):
    """Besu re-checks its pool when permissions change: a removed account's waiting transactions
    leave every node's pool, and its new ones are refused."""
    net = consortium
    leaver = net.accounts["users"][5]
    nonce = int(net.call("validator-0", "eth_getTransactionCount", leaver["address"], "pending"), 16)
    net.nonces[leaver["address"]] = nonce + 1  # leave a gap: these wait in every pool
    waiting = [net.send_tx("validator-1", leaver["privateKey"], leaver["address"]) for _ in range(3)]
    names = net.names()
    net.wait(lambda: all(net.call(n, "eth_getTransactionByHash", waiting[-1]) for n in names), 20, "gossip")

    def allowlist(*args: str, org: str):
        folder = net.root / org
        return CliRunner().invoke(cli_main, [
            "net", "allowlist", *args, "--rpc", net.url("validator-0"), "--keystore",
            str(folder / "keystore" / "admin"), "--password-file", str(folder / "password"), "--json",
        ])  # fmt: skip

    proposed = allowlist("propose", "--account", "--remove", leaver["address"], org="validator-0")
    assert proposed.exit_code == 0, proposed.output
    proposal = str(json.loads(proposed.stdout)["proposal"])
    assert json.loads(allowlist("approve", proposal, org="validator-1").stdout)["executed"] is False
    assert json.loads(allowlist("approve", proposal, org="validator-2").stdout)["executed"] is True
    net.wait(
        lambda: not any(net.call(n, "eth_getTransactionByHash", h) for n in names for h in waiting),
        20,
        "the removed account's transactions to leave every pool",
    )
    for name in names:
        log = Path(net.root / name / "node.log").read_text()
        assert f"transactions of {leaver['address'].lower()}: off the account allowlist" in log
    with pytest.raises(RuntimeError, match="sender account not authorized"):
        net.send_tx("validator-0", leaver["privateKey"], leaver["address"])
