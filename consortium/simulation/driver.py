"""The driver: drives the population through the plan on a running consortium, a step of three
simulated days at a time (five steps a period).

At each step the driver decides what is due as of that time, moves the consortium's clock to it
(the network's timekeeper, `hubao net init --movable-clock`) and only then sends: the staff's
settlement, the members' actions (each member signing their own), the claims' progress, and the
operator ending the cover of those who turned 60, all as one wave. A step's transactions all land
within the step, and nothing the driver sends may need to land before a deadline that falls inside
the step, so what happens in which period depends on the seed alone, not on how fast the chain
runs: same seed, same start, same report. Nothing here keeps the books: the report recomputes
everything from chain events afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path

from web3 import Web3

from consortium.client import Batch, Deployment, Params, Roles, Transactor, deploy_suite, wait_all
from consortium.client.tx import nonces
from consortium.operator import enrollment, settlement
from consortium.simulation import jury, members
from consortium.simulation.chain import NetworkAccounts
from consortium.simulation.claims import progress_claims
from consortium.simulation.params import SimConfig, simulation_rules
from consortium.simulation.population import draw_population, founders
from consortium.simulation.settling import refunds_landed, settle
from consortium.simulation.timekeeping import Timekeeper, start_time
from consortium.simulation.world import Staff, Wave, World

WAVE_TIMEOUT = 900  # seconds for a wave's members' batch to land


class Driver:
    def __init__(self, w3: Web3, accounts: NetworkAccounts, config: SimConfig, out: Path, on_tick=None):
        self.w3 = w3
        self.accounts = accounts
        self.config = config
        self.out = Path(out)
        self.on_tick = on_tick or (lambda world, now: None)
        self.rules = simulation_rules(config)
        self.deployment: Deployment | None = None
        self.world: World | None = None

    def deploy(self) -> Deployment:
        """The suite with the simulation's rules, deployed at the start date; one organisation per
        admin; staff roles spread over the organisations so no single key holds everything."""
        admins = [Transactor(self.w3, k).address for k in self.accounts.admins]
        operator = Transactor(self.w3, self.accounts.operator).address
        n = len(admins)
        roles = Roles(
            organisations=tuple(admins),
            operator=operator,
            enroller=admins[0],
            investigator=admins[1 % n],
            juror_registrar=admins[2 % n],
            treasurer=admins[3 % n],
            treasury=operator,
        )
        self.clock = Timekeeper(self.w3, self.accounts.operator)  # the operator is the timekeeper
        self.clock.clock.advance_to(start_time(self.w3, self.config.start, self.config.launch))
        self.deployment = deploy_suite(
            self.w3, self.accounts.deployer, Params(self.rules, roles), self.out / "deployment.json"
        )
        return self.deployment

    def run(self) -> dict:
        if self.deployment is None:
            self.deploy()
        world = self.world = self._world()
        first_block = self.w3.eth.block_number
        t0 = time.monotonic()
        self._launch()
        for p in world.people[founders(self.config) :]:
            world.agenda.schedule(world.start + p.join_offset, "join", p)
        while not self._finished():
            world.clock.step()
            self._step()
            self.on_tick(world, world.now)
        stats = world.stats
        return {
            "first_block": first_block,
            "plan_start": world.start,
            "last_block": self.w3.eth.block_number,
            "wall_seconds": round(time.monotonic() - t0, 1),
            "driver_txs": stats.txs,
            "driver_failed": stats.failed,
            "evidence_bundles_filed": stats.evidence_filed,
            "clock_moves": world.clock.moves,
            "step_overruns": world.clock.overruns,
            "refusals": dict(sorted(stats.refusals.items())),
            "failure_samples": stats.samples,
            "seconds": {k: round(v, 1) for k, v in stats.seconds.items()},
        }

    def _world(self) -> World:
        staff = Staff.of(self.w3, self.accounts, self.deployment, self.out)
        self.clock.clock.tx = staff.operator.tx  # one signer per account, so its nonces stay in order
        periods = self.config.months * 2  # collections twice a month
        horizon = periods * self.rules.period_length
        people = draw_population(self.config, self.accounts.users, horizon, self.rules.waiting_period)
        counts = nonces(self.w3, [p.address for p in people])
        signers = {p.index: Transactor(self.w3, p.key, n) for p, n in zip(people, counts, strict=True)}
        start = self.deployment.start
        return World(
            self.w3, self.config, self.rules, staff, self.clock, people, signers, start, horizon, periods
        )

    def _finished(self) -> bool:
        """The last period is closed and its collection run to the end: retried, and whoever still
        had not paid after the grace period removed."""
        world = self.world
        return world.stats.periods_closed >= world.last_period and world.collection.finished()

    def _launch(self) -> None:
        """On the first day the founding cohort joins (in as few blocks as the gas limit allows)
        and the first jurors pass their exam; the simulated months count from that day."""
        world = self.world
        world.clock.begin(world.start)  # deploying moved the clock here
        wave = Wave(Batch())
        with world.stats.timed("founders"):
            members.join(world, world.people[: founders(self.config)], wave, by_enroller=True)
            self._send(wave)
        jury.qualify_jurors(world)

    def _step(self) -> None:
        """One step: the staff's settlement first (it may remove defaulters), then the members'
        actions and the claims' progress, sent as one wave with the step's age-outs."""
        world = self.world
        timed = world.stats.timed
        wave = Wave(Batch())
        with timed("settlement"):
            settle(world, wave)
        with timed("members"):
            members.members_act(world, wave)
        with timed("claims"):
            progress_claims(world, wave)
        wave.aged = [
            p for p in world.people if p.in_plan and p.cover_ends_at <= world.now and p.claim_id is None
        ]
        with timed("wave"):
            self._send(wave)
        if not world.jurors_qualified:  # the launch: jurors pass their exam once there are members
            jury.qualify_jurors(world)

    def _send(self, wave: Wave) -> None:
        """The wave in flight together: the treasurer's deposits for joiners (money entering the
        platform), the operator ending the cover of those who turned 60 (operator code), the
        members' own batch and the staff's transactions already sent; then awaited at once."""
        if wave.empty():
            return
        world = self.world
        world.clock.ready(stamped=False)
        deposit = self.rules.year_cap * -(-self.config.months // 12)
        funding = settlement.fund_many(world.staff.treasurer, wave.to_fund, deposit, wait=False)
        ending = enrollment.age_out(
            world.staff.operator, [p.address for p in wave.aged], now=world.now, wait=False
        )
        refunds = wave.refunds["pending"] if wave.refunds else []
        groups = [wave.batch.send(), [e for e, _ in wave.enrolments], funding + wave.staff_pending]
        groups += [ending["pending"], refunds]
        results = wait_all([p for g in groups for p in g], WAVE_TIMEOUT, strict=False)
        landed, enrolled, _, ended, refunded = _split(results, [len(g) for g in groups])
        world.stats.count(results[: len(results) - len(refunded)])  # refunds count as they pay
        members.landed(world, wave.actions, landed)
        members.enrolled(world, wave.enrolments, enrolled)
        if wave.refunds:
            refunds_landed(world, wave.refunds, refunded)
        done = {m for m, r in zip(ending["due"], ended, strict=True) if not isinstance(r, Exception)}
        for p in wave.aged:
            if p.address in done:
                p.out = "aged"


def _split(items: list, sizes: list[int]) -> list[list]:
    """`items` cut into consecutive parts of these sizes."""
    out, start = [], 0
    for size in sizes:
        out.append(items[start : start + size])
        start += size
    return out
