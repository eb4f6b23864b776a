"""What one node bounds, in one place: every limit an operator may tune, with its default.

Each field is a `hubao node run` flag (`--txpool-global-slots`) and a key of node.toml's `[limits]`
table (`txpool_global_slots`); docs/nodes.md#limits explains each and where the default comes
from (geth's and Besu's where they have one). `Refusals` is how a refused request is logged: once
per peer or client and reason, so a flood costs one log line, not one per message.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any


def _limit(default: int | float, text: str) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class NodeLimits:
    tx_gas_cap: int = _limit(
        5_000_000,
        "Gas one transaction may ask for, so a block of one executes inside QBFT's round timer on "
        "every validator (py-evm: 1.1-4.4 Mgas/s); 0: none (the dev node's default).",
    )
    txpool_max_tx_size: int = _limit(128 * 1024, "Bytes of one transaction (geth's txMaxSize).")
    txpool_account_slots: int = _limit(
        16, "Executable transactions per account that accounts over their share cannot push out (geth)."
    )
    txpool_global_slots: int = _limit(5120, "Executable transactions held, in 32 KiB slots (geth).")
    txpool_account_queue: int = _limit(64, "Transactions per account waiting behind a nonce gap (geth).")
    txpool_global_queue: int = _limit(1024, "Transactions waiting behind nonce gaps, all accounts (geth).")
    txpool_lifetime: float = _limit(
        3 * 3600.0, "Seconds an account's waiting (future-nonce) transactions stay without news (geth)."
    )
    filter_timeout: float = _limit(300.0, "Seconds a polling filter lives without a poll (geth).")
    max_filters: int = _limit(1000, "Polling filters (eth_newFilter & co.) held for all clients together.")
    ws_max_subscriptions: int = _limit(100, "eth_subscribe subscriptions on one WebSocket connection.")
    max_subscriptions: int = _limit(1000, "eth_subscribe subscriptions on all connections together.")
    storage_map_mib: int = _limit(
        64 * 1024, "LMDB map (address space, not disk) to start with; doubled whenever a block does not fit."
    )
    storage_min_free_mib: int = _limit(
        512, "Free disk (MiB) below which the node stops cleanly instead of committing (geth's minfreedisk)."
    )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str = "limits") -> NodeLimits:
        """Limits from a `[limits]` table; unknown keys and bad values are refused in one line."""
        known = {f.name: f for f in fields(cls)}
        out: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"{where}: unknown limit {key!r} (known: {', '.join(known)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{where}.{key} must be a number >= 0, got {value!r}")
            if isinstance(known[key].default, int) and value != int(value):
                raise ValueError(f"{where}.{key} must be a whole number, got {value!r}")
            out[key] = type(known[key].default)(value)
        return cls(**out)

    def updated(self, **changes: Any) -> NodeLimits:
        """These limits with some replaced (None: an option not given, the value stays)."""
        given = {k: v for k, v in changes.items() if v is not None}
        checked = NodeLimits.from_mapping(given, "option")
        return replace(self, **{k: getattr(checked, k) for k in given})


def limit_fields() -> list[tuple[str, type, Any, str]]:
    """(name, type, default, help) of every limit, for the command line's options."""
    return [(f.name, type(f.default), f.default, f.metadata["help"]) for f in fields(NodeLimits)]


class Refusals:
    """Log each refusal the first time a (who, reason) pair meets it; count the rest silently.

    `who` is the party: a peer's node id, an account, a WebSocket client. The memory of who was
    told is bounded (the oldest pairs are forgotten first, and may be logged again)."""

    def __init__(self, logger: logging.Logger, remember: int = 4096) -> None:
        self.log = logger
        self.remember = remember
        self.seen: OrderedDict[tuple[str, str], int] = OrderedDict()
        self.count = 0

    def note(self, who: str, reason: str, message: str) -> None:
        self.count += 1
        key = (who, reason)
        if key in self.seen:
            self.seen[key] += 1
            self.seen.move_to_end(key)
            return
        self.seen[key] = 1
        while len(self.seen) > self.remember:
            self.seen.popitem(last=False)
        self.log.warning(
            "refused from %s: %s (further %r refusals from it are not logged)", who, message, reason
        )
