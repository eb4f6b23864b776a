""" "My membership": what the chain holds about one address, read-only (the page never asks for a key).
The member's own numbers come from the wallet's reads, so the page and `hubao wallet status` agree."""

from __future__ import annotations

import re

from web3 import Web3

from consortium.client import Suite
from consortium.wallet import plan
from consortium.wallet.cli import STATE_WORDS
from consortium.web.chain import Event
from consortium.web.illnesses import illness_name

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class BadAddress(ValueError):
    """Input that is not an address; its text is the message shown on the page."""


def parse_address(text: str) -> str:
    text = text.strip()
    shown = text if len(text) <= 60 else text[:57] + "..."
    if not ADDRESS.match(text):
        raise BadAddress(f"“{shown}” is not an address: an address is 0x followed by 40 hexadecimal digits")
    if text != text.lower() and text[2:] != text[2:].upper() and not Web3.is_checksum_address(text):
        raise BadAddress(
            f"“{shown}” has a mistyped letter: its mixed upper and lower case does not match the "
            "address's checksum (EIP-55)"
        )
    return Web3.to_checksum_address(text)


def _sum(suite: Suite, event: str, address: str) -> int:
    return sum(e["args"]["amount"] for e in suite.pool.events(event, member=address))


def membership(suite: Suite, events: list[Event], address: str) -> dict:
    s = plan.status(suite, address)
    s["state_words"] = STATE_WORDS.get(s["state"], s["state"])
    paid = _sum(suite, "SharePaid", address)
    refunded = _sum(suite, "CreditRefunded", address)
    written_off = sum(e["args"]["writtenOff"] for e in suite.pool.events("DefaulterRemoved", member=address))
    # the index rose by what was charged; paidUpTo rose by what was paid less what was refunded
    s.update(
        paid=paid,
        refunded=refunded,
        written_off=written_off,
        charged=paid - refunded + s["owed"] - s["credit"] + written_off,
    )
    mine = [e.args["claimId"] for e in events if e.name == "ClaimSubmitted" and e.args["claimant"] == address]
    s["claims"] = [_claim(suite, claim_id) for claim_id in reversed(mine)]
    eligible_at = suite.jury.call("eligibleAt", address)
    s["juror"] = (
        {"eligible_at": eligible_at, "cases": plan.jury_cases(suite, address)} if eligible_at else None
    )
    return s


def _claim(suite: Suite, claim_id: int) -> dict:
    info = plan.claim_info(suite, claim_id)
    info["illness_name"] = illness_name(info["illness"])
    return info
