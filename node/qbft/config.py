"""QBFT settings from genesis `config.qbft`, read as Besu reads them (periods are wall seconds).

Besu's keys: `blockperiodseconds` (a positive integer), `xblockperiodmilliseconds` (sub-second
periods; when set, it is the period and Besu drops its minimum-spacing header rule),
`xemptyblockperiodseconds`, `requesttimeoutseconds`, `epochlength`. Earlier Hubao genesis files
wrote `emptyblockperiodseconds` and fractional `blockperiodseconds`; both are still read. Besu
options that would change the chain in ways Hubao does not follow (validator contracts,
transitions, block rewards, a mining beneficiary) are refused. The rest are Hubao's own:
`maxrequesttimeoutseconds`, `timestamptoleranceseconds`, `maxblockexecutionseconds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.errors import NodeError

UNSUPPORTED = ("validatorcontractaddress", "transitions", "blockreward", "miningbeneficiary")


class QbftConfigError(NodeError, ValueError):
    """A `config.qbft` Besu would not read, or that asks for what Hubao does not do."""


def _number(qbft: dict, key: str, default: float) -> float:
    value = qbft.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QbftConfigError(f"config.qbft.{key} must be a number, got {value!r}")
    return value


def _block_period(qbft: dict) -> tuple[float, int]:
    """(period in seconds, minimum seconds between block timestamps)."""
    millis = _number(qbft, "xblockperiodmilliseconds", 0)
    raw = qbft.get("blockperiodseconds", 1)
    refusal = f"config.qbft.blockperiodseconds should be a positive integer: {raw!r}"
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        raise QbftConfigError(refusal) from None
    if seconds <= 0:
        raise QbftConfigError(refusal)
    if millis > 0:
        return millis / 1000, 1
    if not seconds.is_integer():  # an earlier Hubao file: a fraction of a second
        return seconds, 1
    return seconds, int(seconds)


@dataclass(frozen=True)
class QbftConfig:
    block_period: float = 1.0  # minimum time between blocks
    request_timeout: float = 4.0  # requesttimeoutseconds: round 0 timer, doubled each round
    epoch_length: int = 30000  # epochlength: votes are cleared at multiples of this
    empty_block_period: float = 0.0  # xemptyblockperiodseconds: 0 = an empty block every period
    max_request_timeout: float = 60.0  # the round timer stops doubling here
    timestamp_tolerance: float = 0.0  # wall seconds a proposal may be ahead of our clock (0 = auto)
    max_block_seconds: float = 0.0  # execution time a proposer packs into one block (0 = auto)
    min_spacing: int = 1  # seconds a block's timestamp is at least after its parent's (Besu's rule)

    @classmethod
    def from_genesis(cls, genesis: dict[str, Any]) -> QbftConfig:
        """From a genesis.json dict (or its "config" part); keys are case-insensitive as in Besu."""
        config = {str(k).lower(): v for k, v in genesis.get("config", genesis).items()}
        if not isinstance(config.get("qbft"), dict):
            engines = [k for k in ("ethash", "clique", "ibft2", "ibft") if k in config]
            raise QbftConfigError(f"genesis config has no qbft section (it names {engines or 'no engine'})")
        qbft = {str(k).lower(): v for k, v in config["qbft"].items()}
        for key in UNSUPPORTED:
            if qbft.get(key) not in (None, [], {}, 0, "0", "0x0"):
                raise QbftConfigError(f"config.qbft.{key} is not supported by Hubao")
        period, spacing = _block_period(qbft)
        epoch = _number(qbft, "epochlength", 30000)
        if epoch <= 0 or not float(epoch).is_integer():
            raise QbftConfigError("config.qbft.epochlength must be a positive integer")
        empty = qbft.get("xemptyblockperiodseconds", qbft.get("emptyblockperiodseconds", 0))
        return cls(
            block_period=period,
            request_timeout=float(_number(qbft, "requesttimeoutseconds", 1)),
            epoch_length=int(epoch),
            empty_block_period=float(_number({"x": empty}, "x", 0)),
            max_request_timeout=float(_number(qbft, "maxrequesttimeoutseconds", 60)),
            timestamp_tolerance=float(_number(qbft, "timestamptoleranceseconds", 0)),
            max_block_seconds=float(_number(qbft, "maxblockexecutionseconds", 0)),
            min_spacing=spacing,
        )

    def round_timeout(self, round_: int) -> float:
        """Besu's exponential round timer, capped."""
        return min(
            self.request_timeout * (2 ** min(round_, 32)), max(self.max_request_timeout, self.request_timeout)
        )

    def block_budget(self) -> float:
        """How much execution a proposer puts in one block: every validator runs it before the
        round can progress, so it must stay well inside the round timer (py-evm runs ~100 tx/s)."""
        return self.max_block_seconds or max(0.5, self.request_timeout / 2)

    def tolerance(self) -> float:
        return self.timestamp_tolerance or max(2.0, self.block_period)
