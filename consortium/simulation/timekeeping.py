"""Simulated time: the driver's step, the consortium's movable clock moved to it before the step's
first transaction, and the rule that nothing is sent whose landing could fall on either side of a
deadline inside the step. Together they make what happens in which period depend on the seed
alone, not on how fast the chain runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from web3 import Web3

from consortium.client import DAY, ChainClock

# The driver's tick. Every transaction of a step lands within it (minutes of chain time), so a
# longer step costs no fidelity in periods of 15 days, and each step costs a clock move and a
# block or two: three days is five steps a period and a third of the blocks of daily steps.
STEP = 3 * DAY


def first_day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def start_time(w3: Web3, start: str | None, launch: bool = False) -> int:
    """Midnight (UTC) of the configured start date, by default the next 1 January (the launch: the
    next 16 October, the real plan's launch day): a fixed calendar start makes ages, birthdays and
    dates the same in every run of a seed."""
    latest = w3.eth.get_block("latest")["timestamp"]
    if start:
        when = datetime.combine(date.fromisoformat(start), datetime.min.time(), UTC)
        if when.timestamp() <= latest:
            raise ValueError(
                f"the network's clock is already at {first_day(latest)}: give a --start after that"
            )
    elif launch:
        today = first_day(latest)
        when = datetime(today.year + (today >= date(today.year, 10, 16)), 10, 16, tzinfo=UTC)
    else:
        when = datetime(first_day(latest).year + 1, 1, 1, tzinfo=UTC)
    return int(when.timestamp())


class Timekeeper:
    """The step's time and the consortium clock behind it (the operator is the timekeeper)."""

    def __init__(self, w3: Web3, operator_key: str):
        self.w3 = w3
        self.clock = ChainClock(w3, operator_key)
        if not self.clock.movable:
            raise ValueError(
                "the network's clock cannot be moved: create it with `hubao net init --movable-clock`"
            )
        self.now = 0  # the step's time: what is due is judged as of it
        self.clock_at = 0  # where the consortium's clock was last moved to
        self.stamped = True  # and whether a block already carries that time
        self.block = 0  # the latest block seen when the clock last moved
        self.moves = 0
        self.overruns = 0  # steps whose transactions were still landing when the next step began
        self._times: dict[int, int] = {}

    def begin(self, at: int) -> None:
        """The first step: the clock was moved here before the suite was deployed."""
        self.now = self.clock_at = at

    def step(self) -> int:
        self.now += STEP
        return self.now

    def ready(self, stamped: bool = True) -> None:
        """Move the consortium's clock to the step's time before its first transaction is sent (a
        step with nothing to send moves nothing). `stamped`: also wait for a block of that time, for
        what reads the chain's time (estimates, `isDefaulter`); members' batches need not. A clock
        already past the step means the last one was still landing: the run goes on, counted as an
        overrun, but is no longer reproducible."""
        if self.clock_at >= self.now and (self.stamped or not stamped):
            return
        latest = self.w3.eth.get_block("latest")
        self.block = latest["number"]
        if self.clock_at < self.now:
            self.overruns += latest["timestamp"] > self.now
            self.moves += 1
            self.clock.advance_to(self.now, stamped=stamped)
        else:
            self.clock.wait_for(self.now)
        self.clock_at, self.stamped = self.now, stamped

    def unclear(self, boundary: int) -> bool:
        """A rule's boundary inside this step: whether a transaction sent now lands before or after
        it depends on chain speed, so such actions wait for the next step."""
        return self.now < boundary < self.now + STEP

    def block_time(self, number: int) -> int:
        if number not in self._times:
            self._times[number] = self.w3.eth.get_block(number)["timestamp"]
        return self._times[number]
