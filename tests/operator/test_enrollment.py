"""Enrollment rules at their edges, the enroller's registry, and the jurors' redacted copy."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from eth_keys import keys

from consortium.client import TIER_40_TO_59, TIER_UNDER_40, ContractRefusal
from consortium.evidence.bundle import Bundle, open_readable
from consortium.evidence.envelope import NotAReader, public_key_of
from consortium.evidence.redact import redact
from consortium.operator.enrollment import Applicant, Ineligible, Registry, eligibility
from consortium.wallet.votes import Vote, VoteBook
from consortium.wallet.words import PlanError, explain


def _at(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, 12, tzinfo=UTC).timestamp())


def _person(born: str, health: bool = True) -> Applicant:
    return Applicant("0x" + "11" * 20, "ID", date.fromisoformat(born), health)


def test_age_limits_and_tiers_at_their_edges():
    today = date(2027, 3, 1)
    assert eligibility(_person("2027-01-30"), _at(today))[0] == TIER_UNDER_40  # exactly 30 days old
    with pytest.raises(Ineligible, match="too young"):
        eligibility(_person("2027-01-31"), _at(today))  # 29 days
    tier, cover_ends = eligibility(_person("1967-03-02"), _at(today))  # 60 tomorrow
    assert tier == TIER_40_TO_59
    assert cover_ends == int(datetime(2027, 4, 1, tzinfo=UTC).timestamp())  # end of the month they turn 60
    with pytest.raises(Ineligible, match="too old"):
        eligibility(_person("1967-03-01"), _at(today))  # 60 today
    assert eligibility(_person("1987-03-02"), _at(today))[0] == TIER_UNDER_40  # 39, 40 tomorrow
    assert eligibility(_person("1987-03-01"), _at(today))[0] == TIER_40_TO_59  # 40 today
    with pytest.raises(Ineligible, match="health declaration"):
        eligibility(_person("1990-01-01", health=False), _at(today))
    # born on 29 February: 60th birthday on 29 February of a leap year, cover to the end of February
    assert eligibility(_person("1968-02-29"), _at(today))[1] == int(
        datetime(2028, 3, 1, tzinfo=UTC).timestamp()
    )


def test_registry_keeps_commitments_not_ids_and_survives_reopening(tmp_path):
    path = tmp_path / "registry.json"
    registry = Registry(path)
    commitment = registry.commitment("110101199001011234")
    registry.record(commitment, "0x" + "22" * 20, 1)
    reopened = Registry(path)
    assert reopened.commitment("110101199001011234 ") == commitment  # same person, same commitment
    assert reopened.holder(commitment) == "0x" + "22" * 20
    assert "110101199001011234" not in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600
    assert Registry(tmp_path / "other.json").commitment("110101199001011234") != commitment  # salted


def test_jury_copy_drops_personal_fields_and_still_checks_against_the_root():
    claimant, investigator, juror, stranger = (keys.PrivateKey(os.urandom(32)).to_bytes() for _ in range(4))
    record = {
        "patient_name": "Li Wei",
        "national_id": "1101",
        "diagnosis": "C50.9",
        "visits": [{"phone": "138"}],
    }
    original = Bundle(
        {"record.json": json.dumps(record).encode(), "scan.png": os.urandom(300), "id.jpg": b"card"}
    )
    copy = redact(original, {"id.jpg"})
    assert copy.redacted == ("id.jpg", "record.json")
    blob = copy.seal_for([public_key_of(investigator), public_key_of(juror)])
    seen = open_readable([original.seal_for([public_key_of(claimant)]), blob], juror, "jury")
    assert json.loads(seen.files["record.json"]) == {"diagnosis": "C50.9", "visits": [{}]}
    assert "id.jpg" not in seen.files and seen.files["scan.png"] == original.files["scan.png"]
    assert seen.check_against(original.root) == []
    assert seen.check_against(b"\x01" * 32) != []
    with pytest.raises(NotAReader):
        open_readable([blob], stranger)
    with pytest.raises(ValueError, match="no evidence file named"):
        redact(original, {"missing.pdf"})


def test_kept_votes_survive_reopening_and_a_damaged_file_is_named(tmp_path):
    book = VoteBook(tmp_path, 1337, "0x" + "33" * 20)
    vote = Vote(4, "0x" + "44" * 20, True, os.urandom(32))
    path = book.save(vote)
    assert VoteBook(tmp_path, 1337, "0x" + "33" * 20).load(4, vote.juror) == vote
    path.write_text("{")
    with pytest.raises(PlanError, match="damaged"):
        book.load(4, vote.juror)
    with pytest.raises(PlanError, match="holds no vote"):
        book.load(5, vote.juror)


def test_refusals_read_as_sentences():
    ends = int(datetime(2027, 3, 1, tzinfo=UTC).timestamp())
    assert (
        explain(ContractRefusal("StillInWaitingPeriod", (ends,))) == "your waiting period ends on 2027-03-01"
    )
    assert "not a member" in explain(ContractRefusal("NotInPlan", ("0x" + "55" * 20,)))
    assert "paid out" in explain(ContractRefusal("NotInPlan", ("0x" + "55" * 20, 4)))
    assert "RMB 1.50" in explain(ContractRefusal("ERC20InsufficientBalance", ("0x", 150, 200)))
    assert explain(ContractRefusal("SomethingNew", (1,))).startswith("the plan refused this: SomethingNew")


def test_an_identity_number_is_read_from_a_file_or_a_prompt_never_from_the_command_line(tmp_path):
    import click
    from click.testing import CliRunner

    from consortium.cli import main
    from consortium.operator.cli import read_national_id

    args = ["operator", "enroll", "--member", "0x" + "11" * 20, "--birth-date", "1990-01-01", "--health",
            "pass", "--out", str(tmp_path / "a.json")]  # fmt: skip
    refused = CliRunner().invoke(main, [*args, "--national-id", "110101199001011234"])
    assert refused.exit_code == 2 and "not taken on the command line" in refused.output
    assert not (tmp_path / "a.json").exists()

    @click.command()
    @click.option("--file", type=click.Path(path_type=Path))
    def show(file):
        click.echo(f"read {read_national_id(file)[-4:]}")

    prompted = CliRunner().invoke(show, [], input="110101199001011234\n")
    assert prompted.exit_code == 0 and "read 1234" in prompted.output
    assert "110101199001011234" not in prompted.output.replace("read 1234", "")  # typed hidden
    (tmp_path / "id.txt").write_text(" 110101199001015678 \nignored\n")
    assert "read 5678" in CliRunner().invoke(show, ["--file", str(tmp_path / "id.txt")]).output
