"""Every `hubao wallet` and `hubao operator` command fed out-of-range, malformed and missing values:
each is answered with exactly one line naming the valid range and exit code 2 (click's usage-error
convention), and nothing reaches the node: the keys' nonces, the block height and the evidence
store are as they were. The wallet's account is an active member and a claim is under notice, so
each of these commands would sign, upload and send if its input passed (the last test shows it).

The table runs the very click commands in-process (click's CliRunner: same parsing, output, exit
codes); one real `hubao` process per command group shows the same on a real command line.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from consortium.cli import main
from harness.processes import DEV_ADDRESSES, DEV_KEYS, HUBAO, ROOT, DevNode
from tests.support.members import claim_under_notice

PASSWORD = "member password"
A = DEV_ADDRESSES[1]  # a well-formed checksummed address
BAD_SUM = A[:-1] + ("7" if A[-1] != "7" else "8")  # one digit off: the checksum no longer matches
ILLNESS = "a covered illness's code, a whole number from 1 to 100"
CLAIM = "a claim number, a whole number from 0 to 2^64-1"
FEN = "an amount in fen (RMB 1 = 100 fen), a whole number from 0 to 2^96-1"
ADDRESS = "an account address, 0x and 40 hex digits (in mixed case with a correct EIP-55 checksum)"
FILE = "an existing, readable"


class Chain:
    """The dev node, the suite, a wallet whose key is an active member, a claim under notice."""

    def __init__(self, root: Path, node: DevNode) -> None:
        self.root, self.node = root, node
        n = claim_under_notice(node, root, PASSWORD)  # claim 0 is under public notice
        self.w3, self.deployment, self.wallet, self.member = n.w3, n.deployment, n.wallet, n.member
        self.files = self._files()

    def _files(self) -> dict[str, str]:
        f = self.root / "files"
        (f / "a").mkdir(parents=True)
        (f / "b").mkdir()
        (f / "password").write_text(PASSWORD + "\n")
        (f / "ops.key").write_text(DEV_KEYS[0])
        (f / "note.txt").write_text("a note")
        (f / "a" / "scan.png").write_bytes(b"scan a")
        (f / "b" / "scan.png").write_bytes(b"scan b")
        with open(f / "big.bin", "wb") as fh:
            fh.truncate(800 * 1024)  # more than one sealed envelope can carry
        (f / "not-deployment.json").write_text('{"hello": 1}')
        (f / "people.csv").write_text("member,national_id,birth_date,health\n")
        names = {"pw": "password", "key": "ops.key", "ev": "note.txt", "big": "big.bin",
                 "notdeploy": "not-deployment.json", "csv": "people.csv"}  # fmt: skip
        paths = {k: str(f / v) for k, v in names.items()}
        more = {"dir": f, "missing": f / "missing", "dup1": f / "a" / "scan.png",
                "dup2": f / "b" / "scan.png", "under_file": f / "note.txt" / "out"}  # fmt: skip
        return paths | {k: str(v) for k, v in more.items()}

    def env(self) -> dict[str, str]:
        return {**os.environ, "HUBAO_RPC": self.node.url, "HUBAO_DEPLOYMENT": str(self.deployment)}

    def state(self) -> tuple:
        """What a sent transaction or an upload would change."""
        nonces = tuple(self.w3.eth.get_transaction_count(a) for a in (self.member, *DEV_ADDRESSES))
        evidence = sorted(str(p) for p in (self.root / "node" / "evidence").rglob("*"))
        return nonces, self.w3.eth.block_number, evidence, self.deployment.read_text()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-input")
    with DevNode.start(root / "node") as node:
        yield Chain(root, node)


W = ["wallet", "--wallet-dir", "{wallet}"]
PW = ["--password-file", "{pw}"]
OP = ["operator"]
KEY = ["--key-file", "{key}"]
ENROLL = ["enroll", "--member", A, "--national-id-file", "{ev}", "--birth-date", "1990-01-01", "--health",
          "pass", "--out", "{dir}/att.json", "--registry", "{dir}/registry.json"]  # fmt: skip


def enroll(**change: str) -> list[str]:
    """The enroll command line with options changed or added ("" drops one)."""
    options = dict(zip(ENROLL[1::2], ENROLL[2::2], strict=True))
    options |= {f"--{k.replace('_', '-')}": v for k, v in change.items()}
    return ["enroll", *[x for name, value in options.items() if value != "" for x in (name, value)]]


# (command line, what the one line must say)
CASES = [
    # ---- hubao wallet ----
    ([*W[:2], "{ev}", "list"], "--wallet-dir must be a folder, or a path where one can be made"),
    ([*W, "new", "--password-file", "{missing}"], f"--password-file must be {FILE} file"),
    ([*W, "new", "--password-file", "{dir}"], "it is a folder"),
    ([*W, "import", *PW], "SOURCE is required: an existing keystore file"),
    ([*W, "import", "{missing}", *PW], "SOURCE must be an existing keystore file"),
    ([*W, "list", "extra"], "unexpected extra argument"),
    ([*W, "address", "--account", "0x123"], f"--account must be {ADDRESS}"),
    ([*W, "address", "--account", BAD_SUM], "the checksum does not match"),
    ([*W, "join", *PW], "--attestation is required"),
    ([*W, "join", "--attestation", "{ev}", "--allowance", "-1", *PW], f"--allowance must be {FEN}, not '-1'"),
    ([*W, "join", "--attestation", "{ev}", "--allowance", "1.5", *PW], f"--allowance must be {FEN}"),
    ([*W, "join", "--attestation", "{ev}", "--allowance", str(2**96), *PW], f"--allowance must be {FEN}"),
    ([*W, "status", "--rpc", "ftp://127.0.0.1:8545"], "--rpc must be an http:// or https:// URL"),
    ([*W, "status", "--rpc", "http://127.0.0.1:70000"], "--rpc must be an http:// or https:// URL"),
    ([*W, "status", "--deployment", "{missing}"], "there is nothing at that path"),
    ([*W, "status", "--deployment", "{notdeploy}"], "--deployment must be a deployment file"),
    ([*W, "allow", "--amount", "ten", *PW], f"--amount must be {FEN}, not 'ten'"),
    ([*W, "pay", "--account", "alice", *PW], f"--account must be {ADDRESS}"),
    ([*W, "exit", "--force=yes", *PW], "does not take a value"),
    (
        [*W, "claim", "submit", "--illness", "999", "--evidence", "{ev}", *PW],
        f"--illness must be {ILLNESS}, not '999'",
    ),
    ([*W, "claim", "submit", "--illness", "0", "--evidence", "{ev}", *PW], f"--illness must be {ILLNESS}"),
    ([*W, "claim", "submit", "--illness", "x1", "--evidence", "{ev}", *PW], f"--illness must be {ILLNESS}"),
    ([*W, "claim", "submit", "--evidence", "{ev}", *PW], f"--illness is required: {ILLNESS}"),
    ([*W, "claim", "submit", "--illness", "5", *PW], "give at least one evidence file"),
    ([*W, "claim", "submit", "--illness", "5", "--evidence", "{missing}", *PW], "--evidence must be"),
    ([*W, "claim", "submit", "--illness", "5", "{dup1}", "{dup2}", *PW], "distinct names: scan.png"),
    ([*W, "claim", "submit", "--illness", "5", "{big}", *PW], "must be at most 768 KiB in all"),
    ([*W, "claim", "status"], f"CLAIM_ID is required: {CLAIM}"),
    ([*W, "claim", "status", "first"], f"CLAIM_ID must be {CLAIM}, not 'first'"),
    ([*W, "claim", "status", "-2"], "-2 is not a value here"),
    ([*W, "claim", "status", str(2**64)], f"CLAIM_ID must be {CLAIM}"),
    ([*W, "claim", "dispute", "1.0", *PW], f"CLAIM_ID must be {CLAIM}"),
    ([*W, "claim", "evidence", "0", "--out", "{ev}", *PW], "--out must be a folder"),
    ([*W, "notice", "list", "--rpc", "http://"], "--rpc must be an http:// or https:// URL"),
    ([*W, "notice", "object", "0", *PW], "give at least one evidence file"),
    ([*W, "notice", "object", "0x0", "--evidence", "{ev}", *PW], f"CLAIM_ID must be {CLAIM}"),
    ([*W, "notice", "object", "0", "{dup1}", "{dup2}", *PW], "distinct names"),
    ([*W, "jury", "cases", "--account", "0x" + "g" * 40], f"--account must be {ADDRESS}"),
    ([*W, "jury", "commit", "0", "maybe", *PW], "VOTE must be yes or no, not 'maybe'"),
    ([*W, "jury", "commit", "0", *PW], "VOTE is required: yes or no"),
    ([*W, "jury", "reveal", "0", "--salt", "0x12", *PW], "--salt must be 0x and 64 hex digits"),
    ([*W, "jury", "reveal", "0", "--vote", "Yes", *PW], "--vote must be yes or no"),
    ([*W, "jury", "evidence", *PW], "CLAIM_ID is required"),
    # ---- hubao operator ----
    ([*OP, "--bogus"], "No such option"),
    ([*OP, *enroll(member=""), *KEY], f"--member is required: {ADDRESS}"),
    ([*OP, *enroll(member="0x" + "00" * 20), *KEY], "the zero address is nobody's account"),
    ([*OP, *enroll(member=BAD_SUM), *KEY], "the checksum does not match"),
    ([*OP, *enroll(birth_date="1990-13-01"), *KEY], "--birth-date must be a date written YYYY-MM-DD"),
    ([*OP, *enroll(birth_date="19900101"), *KEY], "--birth-date must be a date written YYYY-MM-DD"),
    ([*OP, *enroll(birth_date="1800-01-01"), *KEY], "from 1900-01-01 on"),
    ([*OP, *enroll(health="maybe"), *KEY], "--health must be pass or fail"),
    ([*OP, *enroll(out="{dir}"), *KEY], "--out must be a path for a file"),
    ([*OP, *enroll(out="{under_file}"), *KEY], "is a file, not a folder"),
    ([*OP, *enroll(national_id_file="{missing}"), *KEY], "--national-id-file must be"),
    ([*OP, *enroll(national_id="110101199001011234"), *KEY], "not taken on the command line"),
    ([*OP, "enroll-batch", "--out-dir", "{dir}/att", *KEY], "CSV_FILE is required"),
    ([*OP, "enroll-batch", "{csv}", "--out-dir", "{ev}", *KEY], "--out-dir must be a folder"),
    ([*OP, "publish-key", "--key-file", "{ev}"], "it holds no 32-byte hex private key"),
    ([*OP, "publish-key", "--key-file", "{missing}"], "--key-file must be a file holding a private key"),
    ([*OP, "review", "list", "--account", "0xABC", *PW], f"--account must be {ADDRESS}"),
    ([*OP, "review", "show", "x", *KEY], f"CLAIM_ID must be {CLAIM}"),
    ([*OP, "review", "show", "0", "--out", "{ev}", *KEY], "--out must be a folder"),
    ([*OP, "review", "approve", "0", *KEY], "--report is required"),
    ([*OP, "review", "approve", "0", "--report", "{missing}", *KEY], "--report must be an existing"),
    ([*OP, "review", "reject", "1e3", "--report", "{ev}", *KEY], f"CLAIM_ID must be {CLAIM}"),
    ([*OP, "review", "jury-copy", "0", "--withhold", "a/b.png", *KEY], "--withhold must be a file name"),
    ([*OP, "juror", "qualify", *KEY], f"ADDRESSES is required: {ADDRESS}"),
    ([*OP, "juror", "qualify", A, "0x12", *KEY], f"ADDRESSES must be {ADDRESS}, not '0x12'"),
    ([*OP, "juror", "qualify", *[A] * 201, *KEY], "must be at most 200 addresses per transaction, not 201"),
    ([*OP, "settle", "--max-payouts", "0", *KEY], "--max-payouts must be a whole number from 1 to 100"),
    ([*OP, "settle", "--max-payouts", "101", *KEY], "--max-payouts must be a whole number from 1 to 100"),
    ([*OP, "remove-defaulters", "--rpc", "localhost:8545", *KEY], "--rpc must be an http:// or https:// URL"),
    ([*OP, "age-out", "--deployment", "{notdeploy}", *KEY], "--deployment must be a deployment file"),
    ([*OP, "fund", "0x" + "00" * 20, "100", *KEY], "the zero address is nobody's account"),
    ([*OP, "fund", "bob", "100", *KEY], f"TO must be {ADDRESS}"),
    ([*OP, "fund", A, "-1", *KEY], "-1 is not a value here: amounts, counts and claim numbers are whole"),
    ([*OP, "fund", A, "1_000", *KEY], f"AMOUNT must be {FEN}, not '1_000'"),
    ([*OP, "fund", A, str(2**96), *KEY], f"AMOUNT must be {FEN}"),
    ([*OP, "fund", A, *KEY], f"AMOUNT is required: {FEN}"),
    ([*OP, "fund", A, "100", "--gas-money", "lots", *KEY], "--gas-money must be an amount in wei"),
]


def command_paths(group: click.Group, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if not isinstance(group, click.Group):
        return [path]
    return [p for name, cmd in group.commands.items() for p in command_paths(cmd, (*path, name))]


def test_every_command_is_in_the_table():
    """A command added later without bad-input cases fails here."""
    from consortium.operator.cli import operator
    from consortium.wallet.cli import wallet

    groups = {"wallet": wallet, "operator": operator}

    def path_of(args: list[str]) -> tuple[str, ...]:
        cmd, path = groups[args[0]], [args[0]]
        for token in args[1:]:
            if not isinstance(cmd, click.Group):
                break
            if token in cmd.commands:
                cmd, path = cmd.commands[token], [*path, token]
        return tuple(path)

    every = command_paths(wallet, ("wallet",)) + command_paths(operator, ("operator",))
    assert len(every) == 32
    covered = {path_of(args) for args, _ in CASES}
    assert [p for p in every if p not in covered] == []


def fill(args: list[str], chain: Chain) -> list[str]:
    return [a.format(wallet=chain.wallet, **chain.files) for a in args]


def one_line_usage_error(code: int, stdout: str, stderr: str, expected: str) -> str:
    lines = stderr.strip().splitlines()
    assert code == 2, (code, stdout, stderr)
    assert len(lines) == 1 and stdout == "", stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in stderr and "Usage:" not in stderr
    return lines[0]


@pytest.mark.parametrize("args, expected", CASES, ids=[" ".join(a[:6])[:60] for a, _ in CASES])
def test_bad_input_is_one_line_and_exit_2_and_nothing_is_sent(chain, args, expected):
    before = chain.state()
    done = CliRunner().invoke(main, fill(args, chain), env=chain.env(), catch_exceptions=False)
    one_line_usage_error(done.exit_code, done.stdout, done.stderr, expected)
    assert chain.state() == before


# one real process per command group, all at once
PROCESSES = [
    ([*W, "claim", "submit", "--illness", "999", "--evidence", "{ev}", *PW], f"--illness must be {ILLNESS}"),
    ([*W, "notice", "object", "0", *PW], "give at least one evidence file"),
    ([*W, "jury", "reveal", "0", "--salt", "0xzz", *PW], "--salt must be 0x and 64 hex digits"),
    ([*W, "allow", "--amount", "-3", *PW], f"--amount must be {FEN}"),
    ([*OP, "fund", A, "12.50", *KEY], f"AMOUNT must be {FEN}, not '12.50'"),
    ([*OP, "review", "approve", "0", *KEY], "--report is required"),
    ([*OP, "juror", "qualify", BAD_SUM, *KEY], "the checksum does not match"),
]


def test_real_processes_refuse_in_one_line_with_exit_2(chain):
    before = chain.state()
    running = [
        subprocess.Popen(
            [*HUBAO, *fill(args, chain)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=chain.env(),
        )  # fmt: skip
        for args, _ in PROCESSES
    ]
    for proc, (_, expected) in zip(running, PROCESSES, strict=True):
        stdout, stderr = proc.communicate(timeout=120)
        one_line_usage_error(proc.returncode, stdout, stderr, expected)
    assert chain.state() == before


def test_the_same_commands_with_good_input_do_send(chain):
    """The control: had the input passed, the refused commands above would have changed the state
    (an objection signed, its evidence uploaded), so 'nothing sent' is a real check."""
    before = chain.state()
    args = fill([*W, "notice", "object", "0", "--evidence", "{ev}", *PW], chain)
    done = CliRunner().invoke(main, args, env=chain.env(), catch_exceptions=False)
    assert done.exit_code == 0, done.stderr
    nonces, height, evidence, _ = chain.state()
    assert nonces[0] == before[0][0] + 1 and height > before[1] and len(evidence) > len(before[2])
