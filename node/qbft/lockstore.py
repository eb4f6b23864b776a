"""The QBFT lock on disk: the prepared certificate this validator holds for the current height.

QBFT's safety argument assumes a validator that prepared a block carries it into every later
round change of that height, also across a crash; so the certificate is written (atomically, as
RLP [height, round, block, [prepares]] in DATADIR/qbft-lock.rlp) before the commit goes out, and
read back when a restarted validator takes up the height again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import rlp

from node.files import atomic_write
from node.qbft import messages as m
from node.qbft.extradata import block_hash
from node.qbft.round import PreparedCertificate

log = logging.getLogger("node.qbft")


class LockStore:
    def __init__(self, path: str, decode_block: Callable[[bytes], Any]) -> None:
        self.path = path
        self.decode_block = decode_block

    def save(self, height: int, certificate: PreparedCertificate) -> None:
        data = rlp.encode(
            [
                height,
                certificate.round,
                rlp.encode(certificate.block),
                [p.signed.items() for p in certificate.prepares],
            ]
        )
        atomic_write(self.path, data)

    def load(self, height: int) -> PreparedCertificate | None:
        """The certificate held for `height`, or None (none, another height, or unreadable)."""
        try:
            with open(self.path, "rb") as fh:
                height_raw, round_raw, block_rlp, prepares = rlp.decode(fh.read())
            if int.from_bytes(height_raw, "big") != height:
                return None
            block = self.decode_block(block_rlp)
            parsed = tuple(m.Prepare.parse(p) for p in prepares)
            round_ = int.from_bytes(round_raw, "big")
            return PreparedCertificate(round_, block, block_hash(block.header), parsed)
        except FileNotFoundError:
            return None
        except Exception:
            log.exception("ignoring an unreadable lock file")
            return None
