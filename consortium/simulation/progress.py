"""What a person watching `hubao simulate` sees while it runs: on a terminal a progress bar over
simulated time; in a log or a pipe (CI) one line per simulated month, so minutes of work never
print nothing."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from consortium.client.money import yuan
from consortium.simulation.params import SimConfig
from consortium.wallet.words import day


class Live:
    def __init__(self, config: SimConfig, quiet: bool = False, stream=None):
        self.config = config
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.bar = not quiet and self.stream.isatty()
        self.month = ""  # the last month a line was printed for
        self.progress = Progress(
            TextColumn("[bold]{task.fields[date]}"),
            BarColumn(),
            TextColumn("period {task.completed:.0f}/{task.total:.0f}"),
            TextColumn(
                "block {task.fields[block]}  tx {task.fields[txs]}  members {task.fields[members]}  "
                "claims {task.fields[claims]}"
            ),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not self.bar,
        )
        self.task = None

    def __enter__(self) -> Live:
        self.progress.start()
        self.task = self.progress.add_task(
            "simulate", total=self.config.months * 2, date="deploying", block="-", txs=0, members=0, claims=0
        )
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def tick(self, world, now: int) -> None:
        s = world.stats
        if not self.quiet and not self.bar and day(now)[:7] != self.month:
            self.month = day(now)[:7]
            print(month_line(world, now), file=self.stream, flush=True)
        self.progress.update(
            self.task,
            completed=s.periods_closed,
            date=day(now),
            block=world.clock.block,
            txs=s.txs,
            members=s.joined,
            claims=s.claims,
        )


def month_line(world, now: int) -> str:
    """date, members in the plan, claims filed and paid so far, the last share, transactions."""
    s = world.stats
    members = sum(1 for p in world.people if p.in_plan)
    return (
        f"{day(now)}  members {members:,}  claims {s.claims:,}  paid {s.paid:,}  "
        f"share RMB {yuan(s.last_share)}  transactions {s.txs:,}"
    )
