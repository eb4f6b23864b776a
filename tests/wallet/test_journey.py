"""The whole journey, as people run it: `hubao operator` and `hubao wallet` against a real dev node
process (time moved with evm_increaseTime), every refusal in plain words and exit code 1.

Each `hubao` process spends ~4 s of CPU importing web3 and eth-keyfile, so a few steps run as real
subprocesses (`process=True`: join, claim submit, the reveal after a restart, settle, a wrong
password, no node); the others run the very same click commands in-process (click's CliRunner: same
parsing, output and exit codes), which keeps the test inside its time budget.

enroll -> join -> wait -> claim -> review -> notice -> objection -> rejection -> dispute -> jury
(commit, reveal) -> settlement (auto-debit, payout) -> pay by hand -> defaulter removed -> exit.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from web3 import Web3

from consortium.cli import main
from consortium.client import DAY, Params, Roles, Rules, Suite, deploy_suite
from consortium.evidence.envelope import public_key_of
from consortium.evidence.readers import publish_reader
from consortium.operator.settlement import AHEAD_PERIODS
from consortium.wallet import plan
from consortium.wallet.keystore import Keystore
from harness.processes import DEV_ADDRESSES, DEV_KEYS, HUBAO, ROOT, DevNode

COVER = 30_000  # fen: RMB 300, small so the few members of a test can pay for it
RULES = Rules(
    period_length=45 * DAY,  # fewer periods to close on the way past the waiting period
    cover_under_40=COVER,
    cover_40_to_59=10_000,
    case_cap=100_000,
    year_cap=1_000_000,
    min_votes=2,
)
PASSWORD = "member password"
TIMES: list = []


class World:
    """The node, the deployment, staff key files and one wallet folder per person."""

    def __init__(self, root: Path, node: DevNode) -> None:
        self.root = root
        self.node = node
        self.w3 = Web3(Web3.HTTPProvider(node.url))
        self.deployment = root / "deployment.json"
        self.ops_key = root / "operator.key"  # enroller, registrar, operator, treasurer
        self.inv_key = root / "investigator.key"
        self.ops_key.write_text(DEV_KEYS[0])
        self.inv_key.write_text(DEV_KEYS[1])
        self.password = root / "password"
        self.password.write_text(PASSWORD + "\n")
        self.registry = root / "registry.json"
        self.keys: dict[str, bytes] = {}
        self.addresses: dict[str, str] = {}

    def env(self) -> dict:
        return {**os.environ, "HUBAO_RPC": self.node.url, "HUBAO_DEPLOYMENT": str(self.deployment)}

    def run(self, *args: str, ok: bool = True, process: bool = False) -> subprocess.CompletedProcess:
        t0 = time.monotonic()
        if process:
            done = subprocess.run(
                [*HUBAO, *args], capture_output=True, text=True, cwd=ROOT, env=self.env(), timeout=120
            )
        else:
            result = CliRunner().invoke(main, list(args), env=self.env(), catch_exceptions=False)
            done = subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
        TIMES.append((time.monotonic() - t0, " ".join(a for a in args[:5] if not a.startswith("/"))))
        assert "Traceback" not in done.stderr, done.stderr
        if ok:
            assert done.returncode == 0, f"hubao {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        else:
            assert done.returncode == 1, f"hubao {' '.join(args)} should fail:\n{done.stdout}\n{done.stderr}"
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        return done

    def wallet(self, who: str, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run("wallet", "--wallet-dir", str(self.root / who), *args, **kw)

    def signed(self, who: str, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.wallet(who, *args, "--password-file", str(self.password), **kw)

    def operator(self, *args: str, key: Path | None = None, **kw) -> subprocess.CompletedProcess:
        return self.run("operator", *args, "--key-file", str(key or self.ops_key), **kw)

    def enroll(
        self, member: str, national_id: str, born: str, out: Path, **kw
    ) -> subprocess.CompletedProcess:
        id_file = self.root / "ids" / f"{member}.txt"  # an identity number never goes on argv
        id_file.parent.mkdir(exist_ok=True)
        id_file.write_text(national_id + "\n")
        args = ["enroll", "--member", member, "--national-id-file", str(id_file), "--birth-date", born]
        return self.operator(
            *args, "--health", "pass", "--out", str(out), "--registry", str(self.registry), **kw
        )

    def json_of(self, done: subprocess.CompletedProcess):
        return json.loads(done.stdout)

    def suite(self, who: str | None = None) -> Suite:
        from consortium.client import Deployment

        return Suite(self.w3, Deployment.load(self.deployment), self.keys[who] if who else None)

    def advance(self, seconds: int) -> None:
        self.node.rpc("evm_increaseTime", seconds)
        self.node.rpc("evm_mine")

    def add_person(self, who: str) -> str:
        """A wallet folder with one key (light scrypt, as geth's --lightkdf), gas money and RMB 1,000."""
        stored = Keystore(self.root / who).create(PASSWORD, light=True)
        _, key = Keystore(self.root / who).unlock(None, PASSWORD)
        self.keys[who], self.addresses[who] = key, stored.address
        self.give_gas(stored.address)
        return stored.address

    def give_gas(self, address: str) -> None:
        bank = self.suite()
        tx = Suite(self.w3, bank.deployment, DEV_KEYS[2]).tx
        tx.transfer_eth(address, 10**18)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("journey")
    with DevNode.start(root / "chain") as node:
        w = World(root, node)
        roles = Roles(investigator=DEV_ADDRESSES[1])
        deploy_suite(w.w3, DEV_KEYS[0], Params(RULES, roles), out=w.deployment)
        publish_reader(w.deployment, public_key_of(bytes.fromhex(DEV_KEYS[1][2:])))  # the investigator
        yield w
    print(f"\n{len(TIMES)} CLI calls, {sum(t for t, _ in TIMES):.1f}s")
    for t, what in sorted(TIMES, reverse=True)[:12]:
        print(f"{t:6.2f} {what}")


def _evidence(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    diagnosis = folder / "diagnosis.json"
    diagnosis.write_text(
        json.dumps(
            {
                "patient_name": "Li Wei",
                "national_id": "110101199001011234",
                "phone": "13800000000",
                "diagnosis": "malignant tumour, stage II",
                "icd10": "C50.9",
                "hospital": "Peking Union",
            }
        )
    )
    scan = folder / "pathology.png"
    scan.write_bytes(os.urandom(5000))
    card = folder / "id-card.jpg"
    card.write_bytes(b"\xff\xd8 an identity card" + os.urandom(500))
    return [diagnosis, scan, card]


def test_whole_journey(world: World, tmp_path: Path) -> None:
    w = world
    started = time.monotonic()
    # ---- staff set-up: the investigator publishes an evidence key (again: it is kept once)
    w.operator("publish-key", key=w.inv_key)
    assert [r["address"] for r in json.loads(w.deployment.read_text())["evidence_readers"]] == [
        DEV_ADDRESSES[1]
    ]
    refused = w.operator("publish-key", ok=False)  # the operator key is no investigator
    assert "does not hold INVESTIGATOR_ROLE" in refused.stderr

    # ---- people: the claimant makes a key with the CLI; the others are made directly
    made = w.json_of(w.wallet("alice", "--json", "new", "--lightkdf", "--password-file", str(w.password)))
    alice = made["address"]
    w.keys["alice"] = Keystore(w.root / "alice").unlock(None, PASSWORD)[1]
    w.addresses["alice"] = alice
    w.give_gas(alice)
    for who in ("bob", "juror1", "juror2", "carol", "dave"):
        w.add_person(who)
    a = w.addresses

    # ---- enrollment: one by CLI, a batch with every kind of ineligible person
    att = tmp_path / "alice.json"
    w.enroll(alice, "110101199001011234", "1990-01-01", att)
    today = time.strftime("%Y-%m-%d", time.gmtime(w.suite().now()))
    young = time.strftime("%Y-%m-%d", time.gmtime(w.suite().now() - 10 * DAY))
    rows = [
        (a["bob"], "B1", "1985-05-05", "pass"),
        (a["juror1"], "J1", "1975-02-02", "pass"),  # 40 to 59: the lower cover
        (a["juror2"], "J2", "1992-03-03", "pass"),
        (a["carol"], "C1", "1993-04-04", "pass"),
        (a["dave"], "D1", "1994-06-06", "pass"),
        ("0x" + "11" * 20, "X1", young, "pass"),
        ("0x" + "12" * 20, "X2", "1960-01-01", "pass"),
        ("0x" + "13" * 20, "X3", "1990-01-01", "fail"),
        ("0x" + "14" * 20, "110101199001011234", "1990-01-01", "pass"),  # alice's identity again
    ]
    batch = tmp_path / "people.csv"
    with open(batch, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["member", "national_id", "birth_date", "health"])
        writer.writerows(rows)
    issued = w.json_of(
        w.operator(
            "--json",
            "enroll-batch",
            str(batch),
            "--out-dir",
            str(tmp_path / "att"),
            "--registry",
            str(w.registry),
        )
    )
    refusals = [r["refused"] for r in issued]
    assert all(r == "" for r in refusals[:5]), refusals
    assert "too young" in refusals[5] and "too old" in refusals[6]
    assert "health declaration" in refusals[7] and "already enrolled" in refusals[8]
    again = w.enroll(a["bob"], "110101199001011234", "1990-01-01", tmp_path / "x.json", ok=False)
    assert "already enrolled" in again.stderr
    assert today  # (chain time is the enroller's "today")

    # ---- joining: alice by CLI with auto-debit, carol by CLI paying by hand, the rest directly
    joined = w.json_of(w.signed("alice", "--json", "join", "--attestation", str(att), process=True))
    assert joined["cover"] == COVER and joined["auto_debit_allowance"] == RULES.year_cap
    w.signed(
        "carol", "join", "--attestation", str(tmp_path / "att" / f"{a['carol']}.json"), "--allowance", "0"
    )
    for who in ("bob", "juror1", "juror2", "dave"):
        allowance = 0 if who == "dave" else None
        plan.join(w.suite(who), tmp_path / "att" / f"{a[who]}.json", allowance)
    for who in ("alice", "bob", "juror1", "juror2", "carol", "dave"):
        w.operator("fund", a[who], "200000") if who == "alice" else w.suite().as_(DEV_KEYS[0]).token.mint(
            a[who],
            200_000,  # a year ahead of the largest share (the auto-debit's top-up) and more
        )
    w.operator("juror", "qualify", a["juror1"], a["juror2"])

    # ---- refusals before the waiting period ends
    files = _evidence(tmp_path / "evidence")
    early = w.signed("alice", "claim", "submit", "--illness", "12", "--evidence", *map(str, files), ok=False)
    waiting_ends = w.suite().membership.call("waitingEndsAt", alice)
    assert (
        f"your waiting period ends on {time.strftime('%Y-%m-%d', time.gmtime(waiting_ends))}" in early.stderr
    )
    assert w.suite().membership.state_of(alice) == "Waiting"  # the refusal cost nothing
    status = w.json_of(w.wallet("alice", "status", "--json"))
    assert status["state"] == "Waiting" and status["waiting_ends_at"] == waiting_ends

    w.advance(91 * DAY)

    # ---- the claim: root on chain, files sealed for alice and the investigator
    submitted = w.json_of(
        w.signed(
            "alice",
            "--json",
            "claim",
            "submit",
            "--illness",
            "12",
            "--evidence",
            *map(str, files),
            process=True,
        )
    )
    cid = str(submitted["claim_id"])
    assert submitted["amount"] == COVER and submitted["status"] == "UnderReview"
    nosy = w.signed("bob", "claim", "evidence", cid, ok=False)  # bob may not read alice's evidence
    assert f"account {a['bob']} is not allowed to read this evidence" in nosy.stderr
    mine = w.signed("alice", "claim", "evidence", cid, "--out", str(tmp_path / "mine"))
    assert (tmp_path / "mine" / "pathology.png").read_bytes() == files[1].read_bytes(), mine.stdout
    salts = tmp_path / "mine" / "salts.json"  # the leaves are salted: a reader gets the salts too
    w.run("evidence", "verify", cid, *map(str, files), "--salts", str(salts))
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for f in files:
        (tampered / f.name).write_bytes(f.read_bytes())
    scan = tampered / "pathology.png"
    scan.write_bytes(bytes([scan.read_bytes()[0] ^ 1]) + scan.read_bytes()[1:])
    tampered_files = map(str, sorted(tampered.iterdir()))
    caught = w.run("evidence", "verify", cid, *tampered_files, "--salts", str(salts), ok=False)
    assert "pathology.png: content differs" in caught.stderr and "diagnosis.json" not in caught.stderr

    # ---- review: the investigator decrypts and checks every file, then approves
    queue = w.json_of(w.operator("--json", "review", "list", key=w.inv_key))
    assert [q["claim_id"] for q in queue] == [int(cid)]
    w.operator("review", "show", cid, "--out", str(tmp_path / "review"), key=w.inv_key)
    assert (tmp_path / "review" / "claim" / "diagnosis.json").read_bytes() == files[0].read_bytes()
    report = tmp_path / "report.txt"
    report.write_text("hospital records confirm the diagnosis")
    w.operator("review", "approve", cid, "--report", str(report), key=w.inv_key)

    # ---- public notice: amount, illness and root, never who; bob objects with evidence
    board = w.json_of(w.wallet("bob", "--json", "notice", "list"))
    assert board == [
        {
            "claim_id": int(cid),
            "illness": 12,
            "accident": False,
            "amount": COVER,
            "evidence_root": submitted["evidence_root"],
            "notice_ends_at": board[0]["notice_ends_at"],
        }
    ]
    assert alice not in json.dumps(board)
    objection = tmp_path / "objection.txt"
    objection.write_text("I saw the claimant running a marathon last week")
    own = w.signed("alice", "notice", "object", cid, "--evidence", str(objection), ok=False)
    assert "cannot object to your own claim" in own.stderr
    w.signed("bob", "notice", "object", cid, "--evidence", str(objection))
    assert w.suite().claims.status(int(cid)) == "UnderReview"

    # ---- back in review: the objection is read too; the investigator rejects; alice disputes
    shown = w.operator("review", "show", cid, key=w.inv_key)
    assert "objection.txt" in shown.stdout
    w.operator("review", "reject", cid, "--report", str(report), key=w.inv_key)
    w.signed("alice", "claim", "dispute", cid)
    leaving = w.signed("alice", "exit", ok=False)  # her claim is before the board: leaving would void it
    assert f"you have an open claim (#{cid})" in leaving.stderr

    # ---- the jurors' copy: personal fields removed, the identity card withheld
    copy = w.json_of(
        w.operator("--json", "review", "jury-copy", cid, "--withhold", "id-card.jpg", key=w.inv_key)
    )
    assert sorted(copy["jurors"]) == sorted([a["juror1"], a["juror2"]])
    cases = w.json_of(w.wallet("juror1", "--json", "jury", "cases"))
    assert (
        cases[0]["claim_id"] == int(cid) and cases[0]["phase"] == "commit" and cases[0]["may_vote"] == "yes"
    )
    assert w.json_of(w.wallet("bob", "--json", "jury", "cases"))[0]["may_vote"] == "no: not a qualified juror"
    w.signed("juror1", "jury", "evidence", cid, "--out", str(tmp_path / "juror1"))
    seen = json.loads((tmp_path / "juror1" / "diagnosis.json").read_text())
    assert (
        seen["diagnosis"] == "malignant tumour, stage II"
        and "patient_name" not in seen
        and "national_id" not in seen
    )
    assert not (tmp_path / "juror1" / "id-card.jpg").exists()
    assert (tmp_path / "juror1" / "pathology.png").read_bytes() == files[1].read_bytes()
    outsider = w.signed("bob", "jury", "evidence", cid, ok=False)  # bob is no juror
    assert "not allowed to read" in outsider.stderr or "no jury copy" in outsider.stderr

    # ---- votes: commit-reveal; a double vote and a reveal that does not match are refused
    w.signed("juror1", "jury", "commit", cid, "yes")
    double = w.signed("juror1", "jury", "commit", cid, "no", ok=False)
    assert "already voted" in double.stderr
    w.signed("juror2", "jury", "commit", cid, "yes")
    w.advance(DAY + 60)
    wrong = w.signed("juror2", "jury", "reveal", cid, "--vote", "no", ok=False)
    assert "does not match the vote you committed" in wrong.stderr
    w.signed("juror1", "jury", "reveal", cid, process=True)  # a new process: the salt came from the wallet
    w.signed("juror2", "jury", "reveal", cid)
    w.advance(DAY + 60)

    # ---- settlement: the board's verdict, periods closed, auto-debit, payout
    paid_before = w.suite().token.balance_of(alice)
    settled = w.json_of(w.operator("--json", "settle", process=True))
    assert settled["resolved"] == [{"claim_id": int(cid), "status": "Accepted"}]
    share = settled["closed"][0]["share"]
    assert settled["closed"][0]["sharing"] == 5 and share == -(-(COVER * 108 // 100) // 5)
    assert settled["debits_failed"] == 2  # carol and dave pay by hand (or not at all)
    # the three with a permit are debited their share and topped up ahead: a year of the largest recent
    # share, but no more than the year cap still allows (owed and ahead within what a year can cost)
    year_cap = w.suite().deployment.rules.year_cap
    assert settled["ahead"] == min(AHEAD_PERIODS * share, year_cap - share) and settled["debited"] == 3
    assert settled["collected"] == 3 * (share + settled["ahead"])
    # paid up to the shares levied (5), the two missing ones advanced from the others' credit
    assert w.suite().token.balance_of(alice) - paid_before == settled["paid"][0]["amount"] == COVER
    assert w.suite().pool.totals().paidOut <= 5 * share
    assert w.suite().pool.owed(alice) == 0  # the claimant never pays towards their own case

    # ---- carol pays by hand; dave never does and is removed after the grace period
    carol = w.json_of(w.wallet("carol", "--json", "status"))
    assert carol["owed"] == share and carol["owed_due_at"] is not None
    w.signed("carol", "pay")
    assert w.suite().pool.owed(a["carol"]) == 0
    again = w.signed("carol", "pay", ok=False)
    assert "you owe nothing" in again.stderr
    w.signed("carol", "allow")  # from now on her shares are auto-debited too
    w.advance(6 * DAY)
    removed = w.json_of(w.operator("--json", "remove-defaulters"))
    assert removed["removed"] == [a["dave"]]
    assert w.suite().membership.state_of(a["dave"]) == "Removed"

    # ---- bob leaves; the next settlement finishes alice's payout
    w.signed("bob", "exit")
    assert w.suite().membership.state_of(a["bob"]) == "Exited"
    w.advance(40 * DAY)
    w.signed("carol", "pay", ok=False)  # nothing is owed until the next close
    second = w.json_of(w.operator("--json", "settle"))
    assert second["closed"]
    assert second["debits_failed"] == 0 and w.suite().pool.owed(a["carol"]) == 0
    final = w.json_of(w.wallet("alice", "--json", "claim", "status", cid))
    assert final["status"] == "Accepted" and final["paid"] == COVER
    assert final["meaning"] == "accepted and paid in full"
    assert w.suite().token.balance_of(alice) - paid_before == COVER
    assert w.json_of(w.wallet("alice", "--json", "status"))["state"] == "PaidOut"

    # ---- every fen accounted for: the pool's books equal its token balance
    pool = w.suite().pool
    totals = pool.totals()
    assert (
        w.suite().token.balance_of(pool.address)
        == pool.balance()
        == totals.paidIn - totals.paidOut - totals.feesPaid - totals.refunded
    )
    paid_in = sum(e["args"]["amount"] for e in pool.events("SharePaid"))
    assert paid_in == totals.paidIn
    # bob left: the settlement after his last close gave back what he had paid ahead
    refunds = {e["args"]["member"]: e["args"]["amount"] for e in pool.events("CreditRefunded")}
    assert refunds.get(a["bob"], 0) > 0 and pool.credit(a["bob"]) == 0
    print(f"journey: {time.monotonic() - started:.1f}s")


def test_refusals_outside_the_journey(world: World, tmp_path: Path) -> None:
    w = world
    # a person with a key but no membership cannot claim (nothing is stored or sent)
    stranger = w.add_person("stranger")
    note = tmp_path / "note.txt"
    note.write_text("a note")
    refused = w.signed("stranger", "claim", "submit", "--illness", "3", "--evidence", str(note), ok=False)
    assert "not a member of the plan" in refused.stderr
    assert w.suite().membership.state_of(stranger) == "None"
    assert w.json_of(w.wallet("stranger", "--json", "status"))["state"] == "None"
    unknown = w.wallet("stranger", "claim", "status", "999", ok=False)
    assert "there is no claim #999" in unknown.stderr

    # staff keys from a keystore (the wallet's format) work as well as a key file
    staff = w.root / "staff-keys"
    Keystore(staff).save(bytes.fromhex(DEV_KEYS[1][2:]), PASSWORD, light=True)
    queue = w.run(
        "operator", "--json", "review", "list", "--keystore", str(staff), "--password-file", str(w.password)
    )
    assert isinstance(json.loads(queue.stdout), list)

    # wrong password: one line, nothing sent
    bad = tmp_path / "bad"
    bad.write_text("not the password")
    wrong = w.wallet("stranger", "pay", "--password-file", str(bad), ok=False, process=True)
    assert "wrong password" in wrong.stderr

    # corrupt keystore: named, one line
    keyfile = next((w.root / "stranger").glob("UTC--*"))
    data = json.loads(keyfile.read_text())
    del data["crypto"]["mac"]
    keyfile.write_text(json.dumps(data))
    corrupt = w.signed("stranger", "pay", ok=False)
    assert "corrupt" in corrupt.stderr and keyfile.name in corrupt.stderr

    # an attestation for someone else
    other = tmp_path / "other.json"
    w.enroll(DEV_ADDRESSES[3], "ZZ9", "1980-01-01", other)
    w.add_person("eve")
    stolen = w.signed("eve", "join", "--attestation", str(other), ok=False)
    assert "was issued for" in stolen.stderr

    # no gas money: the node's refusal, in one line; with gas money the join goes through
    frank_dir = w.root / "frank"
    frank = Keystore(frank_dir).create(PASSWORD, light=True).address
    w.keys["frank"] = Keystore(frank_dir).unlock(None, PASSWORD)[1]
    w.enroll(frank, "F1", "1991-01-01", tmp_path / "frank.json")
    broke = w.signed("frank", "join", "--attestation", str(tmp_path / "frank.json"), ok=False)
    assert "the node refused this" in broke.stderr and "insufficient" in broke.stderr.lower()
    w.give_gas(frank)
    w.signed("frank", "join", "--attestation", str(tmp_path / "frank.json"))

    # an illness inside the waiting period: refused by the wallet; forced, the chain ends the cover
    forced = w.signed(
        "frank", "claim", "submit", "--illness", "5", "--force", "--evidence", str(note), ok=False
    )
    assert "refused: illness in the waiting period; membership ended" in forced.stderr
    assert w.suite().membership.state_of(frank) == "EndedInWaitingPeriod"

    # no node: one line
    down = subprocess.run(
        [
            *HUBAO,
            "wallet",
            "--wallet-dir",
            str(w.root / "eve"),
            "status",
            "--rpc",
            "http://127.0.0.1:9",
            "--deployment",
            str(w.deployment),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert down.returncode == 1 and "no node answers" in down.stderr and "Traceback" not in down.stderr
