"""A juror's committed votes and their salts, kept in the wallet folder until revealed.

The salt is written (file and folder fsynced) *before* the commit transaction is sent: a crash
after sending can then never leave a commitment on chain that its juror cannot reveal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from consortium.wallet.words import PlanError
from node.files import atomic_write


@dataclass(frozen=True)
class Vote:
    claim_id: int
    juror: str
    in_favour: bool
    salt: bytes


class VoteBook:
    def __init__(self, wallet_dir: Path, chain_id: int, jury: str) -> None:
        self.directory = Path(wallet_dir) / "votes" / f"{chain_id}-{jury.lower()}"

    def _path(self, claim_id: int, juror: str) -> Path:
        return self.directory / f"{claim_id}-{juror.lower()}.json"

    def save(self, vote: Vote) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(vote.claim_id, vote.juror)
        body = {
            "claim_id": vote.claim_id,
            "juror": vote.juror,
            "in_favour": vote.in_favour,
            "salt": "0x" + vote.salt.hex(),
        }
        return atomic_write(path, json.dumps(body))

    def load(self, claim_id: int, juror: str) -> Vote:
        path = self._path(claim_id, juror)
        try:
            body = json.loads(path.read_text())
            return Vote(
                int(body["claim_id"]), body["juror"], bool(body["in_favour"]), bytes.fromhex(body["salt"][2:])
            )
        except FileNotFoundError:
            raise PlanError(
                f"this wallet holds no vote on claim #{claim_id} for {juror}: give --vote and --salt "
                "if you committed from another machine"
            ) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise PlanError(f"{path} is damaged ({exc}); give --vote and --salt to reveal") from None
