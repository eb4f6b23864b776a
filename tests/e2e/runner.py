"""The one runner of fault scenarios: it plays a manifest's steps against a live network of node
processes, undoes what is still in force (resume, honest again, heal, start), then checks the
invariants (tests/e2e/invariants.py). Every wait is a bounded wait on a condition; the only timed
pieces are a step's `after` and a halt's `hold` (a window in which nothing may happen)."""

from __future__ import annotations

import time
from typing import Any

from harness.network import Network
from tests.e2e.invariants import Invariants
from tests.e2e.manifest import PLACEHOLDER, Manifest, Step

SINK = "0x" + "22" * 20  # where test transfers go
NODE_VERBS = ("kill", "stop", "start", "restart", "pause", "resume")  # Network methods, one node each


class Runner:
    def __init__(self, net: Network) -> None:
        self.net = net
        self.invariants = Invariants(net)
        self.log_offsets: dict[str, int] = {}

    def run(self, manifest: Manifest) -> None:
        """Each step, then restore and the invariants; prints a timeline (pytest shows it on failure)."""
        began = time.monotonic()
        for number, step in enumerate(manifest.steps, 1):
            if step.after:
                time.sleep(step.after)
            try:
                if step.verb in NODE_VERBS:
                    for name in step.nodes():
                        getattr(self.net, step.verb)(name)
                else:
                    getattr(self, f"_{step.verb}")(step)
            except Exception as exc:
                raise AssertionError(f"{manifest.name} step {number} ({step}): {exc}") from exc
            self._log(began, f"{number}. {step}")
        self.net.restore()
        self.invariants.check()
        self._log(began, "restored, invariants hold")

    def _log(self, began: float, what: str) -> None:
        print(f"{time.monotonic() - began:6.1f}s  {what}  heights {self.net.heights(self.net.running())}")

    # -- links and a byzantine node (kill, stop, start, restart, pause, resume: Network's own) ----
    def _split(self, step: Step) -> None:
        self.net.split(step.nodes())

    def _heal(self, step: Step) -> None:
        self.net.heal()

    def _byzantine(self, step: Step) -> None:
        self.log_offsets = {
            n: self.net.log_path(n).stat().st_size for n in self.net.names() if n != step.value
        }
        self.net.byzantine(step.value, step.get("attacks", ["equivocate", "forge_seals", "bad_tx"]))

    # -- load and votes ---------------------------------------------------------------------------
    def _send(self, step: Step) -> None:
        """`send = N` transfers from `from` (default user-0) through `via` (default: the first member
        running); with `refused`, every node (or `via`) must refuse them with that message."""
        net = self.net
        key = net.key(step.get("from", "user-0"))
        to = self._resolve(step.get("to", SINK))
        value = int(step.get("value", 1))
        if refused := step.get("refused"):
            for via in [step.get("via")] if step.get("via") else net.running():
                try:
                    net.send_tx(via, key, to, value)
                except RuntimeError as exc:
                    assert refused in str(exc), f"{via} refused with {exc}, not {refused!r}"
                else:
                    raise AssertionError(f"{via} accepted a transaction it must refuse ({refused})")
            return
        running = net.running()
        via = step.get("via") or next((n for n in running if n.startswith("member")), running[0])
        for _ in range(int(step.value)):
            self.invariants.acknowledged.append(net.send_tx(via, key, to, value))

    def _vote(self, step: Step) -> None:
        target = self.net.node_id(step.value)
        for voter in step.get("by", self.net.names("validator")):
            answer = self.net.call(voter, "qbft_proposeValidatorVote", target, bool(step.get("add", True)))
            assert answer is True, f"{voter} answered {answer}"

    # -- waits: bounded, on a condition ----------------------------------------------------------------
    def _wait(self, step: Step) -> None:
        getattr(self, f"_wait_{step.value}")(step, float(step.get("timeout", 60)))

    def _wait_blocks(self, step: Step, timeout: float) -> None:
        nodes = step.get("nodes") or self.net.running()
        self.net.wait_height(self.net.top(nodes) + int(step.get("count", 1)), nodes, timeout)

    def _wait_synced(self, step: Step, timeout: float) -> None:
        nodes = step.get("nodes") or self.net.running()
        others = [n for n in self.net.running() if n not in nodes]
        self.net.wait_height(self.net.top(others or None), nodes, timeout)

    def _wait_receipts(self, step: Step, timeout: float) -> None:
        via = step.get("node") or self.net.running()[0]
        for tx_hash in self.invariants.acknowledged:
            self.net.receipt(via, tx_hash, timeout)

    def _wait_halt(self, step: Step, timeout: float) -> None:
        """No new block can be final: once every running validator has given up round 0 at its
        height (the proof that the round could not close), nothing moves for `hold` seconds."""
        net = self.net

        def stuck() -> bool:
            statuses = [net.call(n, "qbft_getStatus") for n in net.running()]
            return all(s["round"] >= 1 for s in statuses if s["validator"])

        net.wait(stuck, timeout, "every running validator in a round change")
        frozen = net.top(net.running())
        deadline = time.monotonic() + float(step.get("hold", 3))
        while time.monotonic() < deadline:
            assert net.top(net.running()) == frozen, f"a block became final past {frozen}: {net.heights()}"
            time.sleep(0.2)

    def _wait_validator(self, step: Step, timeout: float) -> None:
        """Every running node's latest validator set has (or, with is = false, lacks) the node, and
        the node's own status says it validates (or does not)."""
        net, target, wanted = self.net, self.net.node_id(step.get("node")), bool(step.get("is", True))

        def settled() -> bool:
            sets = [net.call(n, "qbft_getValidatorsByBlockNumber", "latest") for n in net.running()]
            return all((target in s) == wanted for s in sets)

        what = f"{step.get('node')} {'in' if wanted else 'out of'} the validator set"
        net.wait(settled, timeout, what)
        node = step.get("node")  # and it knows: it takes part in consensus (or no longer does)
        net.wait(
            lambda: net.call(node, "qbft_getStatus")["validator"] == wanted, timeout, f"{what}, by its status"
        )

    def _wait_proposed(self, step: Step, timeout: float) -> None:
        """A block built by the node appears: it takes its turn in the round-robin."""
        net, target = self.net, self.net.node_id(step.get("node"))
        watcher = next(n for n in net.running() if n != step.get("node"))
        start = net.height(watcher)

        def proposed() -> bool:
            calls = [("eth_getBlockByNumber", [hex(h), False]) for h in range(start, net.height(watcher) + 1)]
            return any(b["miner"].lower() == target for b in net.batch(watcher, calls))

        net.wait(proposed, timeout, f"a block proposed by {step.get('node')}")

    def _wait_punished(self, step: Step, timeout: float) -> None:
        """The byzantine node sent each of `attacks`, and an honest node dropped it for it."""
        net, villain = self.net, step.get("node")
        attacks = step.get("attacks", [])

        def honest_logs() -> str:
            text = ""
            for name, offset in self.log_offsets.items():
                with open(net.log_path(name), "rb") as f:
                    f.seek(offset)
                    text += f.read().decode(errors="replace")
            return text

        def punished() -> bool:
            sent = net.attacks_sent(villain)
            return all(sent.get(a, 0) >= 1 for a in attacks) and f"punishing peer {net.node_id(villain)}" in (
                honest_logs()
            )

        net.wait(punished, timeout, f"{villain}'s attacks {attacks}, refused")

    # -- expectations ---------------------------------------------------------------------------------
    def _expect(self, step: Step) -> None:
        """`expect = "rpc"`: `method(params)` on `node` equals `equals` (a hex quantity compares as a
        number) or has each field of `at_least` at least that large."""
        result = self.net.call(step.get("node"), step.get("method"), *self._resolve(step.get("params", [])))
        if "equals" in step.options:
            wanted = self._resolve(step.get("equals"))
            got = int(result, 16) if isinstance(wanted, int) and isinstance(result, str) else result
            assert got == wanted, f"{step.get('method')} gave {result!r}, expected {wanted!r}"
        for key, least in step.get("at_least", {}).items():
            assert result[key] >= least, f"{step.get('method')}[{key}] = {result[key]} < {least}"

    def _resolve(self, value: Any) -> Any:
        """ "{name}" placeholders -> the node's id or the account's address (lower case)."""
        if isinstance(value, str):
            return PLACEHOLDER.sub(lambda m: self.net.address(m[1]).lower(), value)
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        if isinstance(value, dict):
            return {self._resolve(k): self._resolve(v) for k, v in value.items()}
        return value
