"""One attack of the soak: a thread that repeats a round of the attack until told to stop, and
counts what the node did with it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

SAMPLES = 5  # outcomes of each kind kept for the printout


@dataclass
class Tally:
    """What one attack sent, and what the node did with it."""

    sent: int = 0  # requests, connections, messages or uploads
    refused: int = 0  # refused, cut or punished by the node as its bound says
    accepted: int = 0  # taken, within the bound (a filter under the cap, a queued transaction)
    wrong: int = 0  # outcomes the bound does not allow: each one fails the soak
    errors: int = 0  # the attacker's own failures (a timeout, a refused connection)
    samples: dict[str, list[str]] = field(default_factory=lambda: {"wrong": [], "errors": []})

    def note(self, kind: str, what: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.samples[kind]) < SAMPLES:
            self.samples[kind].append(what[:300])


class Attack(threading.Thread):
    """Subclasses set `key` (for --attacks), `name` and `target` and define `round()`; `pause`
    seconds between rounds."""

    key = "attack"
    name = "attack"
    target = ""
    pause = 1.0

    def __init__(self, net, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=self.name)
        self.net, self.stop = net, stop
        self.tally = Tally()
        self.rounds = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.round()
                self.rounds += 1
            except Exception as exc:  # the attacker's own failure: counted, and the loop goes on
                self.tally.note("errors", f"{type(exc).__name__}: {exc}")
            self.stop.wait(self.pause)

    def round(self) -> None:
        raise NotImplementedError

    def expect(self, answer: dict, *refusals: str) -> None:
        """Count one JSON-RPC answer: a result is accepted, an error naming one of `refusals` is
        refused, any other error is wrong."""
        self.tally.sent += 1
        if "result" in answer:
            self.tally.accepted += 1
        elif any(words in answer["error"]["message"] for words in refusals):
            self.tally.refused += 1
        else:
            self.tally.note("wrong", f"unexpected answer {answer['error']}")

    def summary(self) -> dict:
        t = self.tally
        counts = {k: getattr(t, k) for k in ("sent", "refused", "accepted", "wrong", "errors")}
        return {"key": self.key, "attack": self.name, "target": self.target, "rounds": self.rounds,
                **counts, "samples": t.samples}  # fmt: skip
