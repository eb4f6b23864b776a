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

ZERO_IS_OFF = "zero_is_off"  # a field's metadata: 0 turns the bound off, so 0 is allowed


def read_numbers(cls: type, table: Mapping[str, Any], where: str, strict: bool = False) -> dict[str, Any]:
    """The fields of `cls` (a dataclass of numeric bounds) that `table` sets, checked: a field whose
    default is an int takes a whole number, a float field any number; each must be above 0, or at
    least 0 where the field's metadata says 0 turns it off. Keys that are no field are refused when
    `strict`, else left to the caller (a table that holds other settings too). Every refusal is one
    line naming `where` and the key: "node.toml: [p2p] max_peers must be a positive whole number"."""
    known = {f.name: f for f in fields(cls)}
    if strict and (unknown := sorted(set(table) - set(known))):
        raise ValueError(f"{where} has an unknown limit {unknown[0]!r} (known: {', '.join(known)})")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            continue
        spec = known[key]
        whole = isinstance(spec.default, int)
        zero = spec.metadata.get(ZERO_IS_OFF, False)
        number = not isinstance(value, bool) and isinstance(value, int if whole else int | float)
        if not number or value < 0 or (value == 0 and not zero):
            if zero:
                kind = "a whole number >= 0 (0: off)" if whole else "a number >= 0 (0: off)"
            else:
                kind = "a positive whole number" if whole else "a positive number"
            raise ValueError(f"{where} {key} must be {kind}, got {value!r}")
        out[key] = type(spec.default)(value)
    return out


def _limit(default: int | float, text: str, zero_is_off: bool = False) -> Any:
    return field(default=default, metadata={"help": text, ZERO_IS_OFF: zero_is_off})


@dataclass(frozen=True)
class NodeLimits:
    tx_gas_cap: int = _limit(
        5_000_000,
        "Gas one transaction may ask for, so a block of one executes inside QBFT's round timer on "
        "every validator (py-evm: 1.1-4.4 Mgas/s); 0: none (the dev node's default).",
        zero_is_off=True,
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
        512,
        "Free disk (MiB) below which the node stops cleanly instead of committing (geth's minfreedisk); "
        "0: no check.",
        zero_is_off=True,
    )

    def updated(self, **changes: Any) -> NodeLimits:
        """These limits with some replaced (None: an option not given, the value stays)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **read_numbers(NodeLimits, given, "option", strict=True))


def following_chain(limits: NodeLimits, chain_cap: int | None) -> NodeLimits:
    """The pool's cap follows the chain's (config.hubao.txGasLimitCap) unless the operator set
    another: a pool never has to hold what no block may carry, and a lower chain cap is the
    default without anyone writing it twice."""
    if chain_cap is None or limits.tx_gas_cap != NodeLimits().tx_gas_cap:
        return limits
    return replace(limits, tx_gas_cap=chain_cap)


def limit_fields() -> list[tuple[str, type, Any, str, bool]]:
    """(name, type, default, help, zero is off) of every limit, for the command line's options."""
    return [
        (f.name, type(f.default), f.default, f.metadata["help"], f.metadata[ZERO_IS_OFF])
        for f in fields(NodeLimits)
    ]


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
