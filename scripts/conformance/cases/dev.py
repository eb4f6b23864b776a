"""The dev-chain conveniences scripts written for anvil and hardhat call, under both names.

geth has none of these; the reference is what anvil and hardhat do: a setter answers null (anvil)
or true (hardhat), and what it set reads back through the standard methods.
"""

from __future__ import annotations

import time

from conformance.checks import Case, result

CODE = "0x6001600055"  # PUSH1 1 PUSH1 0 SSTORE
WORD = "0x" + "00" * 31 + "07"


def _target(prefix: str, n: int) -> str:
    return "0x" + ("d0" if prefix == "anvil" else "e0") * 19 + f"{n:02x}"


def _then(check, *accepted):
    """A fact: the answer is null or true (or one of `accepted`), then `check(world)` holds."""

    def fact(w, r):
        if r not in (None, True, *(a(w) for a in accepted)):
            return f"answered {r!r}, want null or true"
        return check(w)

    return fact


def _reads(method: str, args, want):
    def check(w):
        got = w.result(method, *args(w))
        return None if got == want else f"{method} reads {got!r}, want {want!r}"

    return check


def _automine(w) -> None:
    w.rpc("evm_setAutomine", True)


def _mined_later(w) -> str | None:
    """With automine off a transaction waits; evm_mine includes it."""
    tx_hash = w.send(3, w.address(4), value=1)
    time.sleep(0.5)
    if w.result("eth_getTransactionReceipt", tx_hash) is not None:
        return "mined although automine is off"
    w.result("evm_mine")
    w.wait(tx_hash, timeout=5)
    return None


def _interval(w) -> str | None:
    start = int(w.result("eth_blockNumber"), 16)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if int(w.result("eth_blockNumber"), 16) > start:
            return None
        time.sleep(0.2)
    return "no block within 5 s at a 1 s interval"


def _interval_off(w) -> None:
    w.rpc("evm_setIntervalMining", 0)
    _automine(w)


def _hold(name: str):
    def before(w) -> None:
        """A transaction waiting in the pool (automine off) for a drop to remove."""
        w.result("evm_setAutomine", False)
        w.facts[name] = w.send(3, w.address(4), value=2)

    return before


def _forgotten(name: str):
    def check(w):
        found = w.result("eth_getTransactionByHash", w.facts[name])
        return None if found is None else "still known after the drop"

    return check


def _fund(who: str):
    return lambda w: w.wait(w.send(0, who, value=10**18))


def _sends_as(who: str, want_ok: bool):
    def check(w):
        tx = {"from": who, "to": w.address(4), "value": "0x1", "gas": "0x5208"}
        reply = w.rpc("eth_sendTransaction", tx)
        if not want_ok:
            return "still sends as the account" if reply.error is None else None
        if reply.error is not None:
            return f"could not send as it: {reply.message[:80]}"
        w.wait(reply.result)
        return None

    return check


def _setter(method: str, params, reader: str, args, want) -> Case:
    return Case(method, "what it set reads back", params, result("any", _then(_reads(reader, args, want))))


def _cases(prefix: str) -> list[Case]:
    def t(n):
        return _target(prefix, n)

    who = "0x" + ("d1" if prefix == "anvil" else "e1") * 20  # not a dev account: only impersonation sends
    held = f"{prefix}-held"
    return [
        _setter(
            f"{prefix}_setBalance",
            lambda w: [t(1), "0x1234"],
            "eth_getBalance",
            lambda w: [t(1), "latest"],
            "0x1234",
        ),
        _setter(f"{prefix}_setCode", lambda w: [t(2), CODE], "eth_getCode", lambda w: [t(2), "latest"], CODE),
        _setter(
            f"{prefix}_setNonce",
            lambda w: [t(3), "0x5"],
            "eth_getTransactionCount",
            lambda w: [t(3), "latest"],
            "0x5",
        ),
        _setter(
            f"{prefix}_setStorageAt",
            lambda w: [t(4), "0x0", WORD],
            "eth_getStorageAt",
            lambda w: [t(4), "0x0", "latest"],
            WORD,
        ),
        Case(
            f"{prefix}_impersonateAccount",
            "sends as the account",
            lambda w: [who],
            result("any", _then(_sends_as(who, True))),
            before=_fund(who),
        ),
        Case(
            f"{prefix}_stopImpersonatingAccount",
            "no longer sends as it",
            lambda w: [who],
            result("any", _then(_sends_as(who, False))),
        ),
        Case(
            f"{prefix}_dropTransaction",
            "forgets a pending transaction",
            lambda w: [w.facts[held]],
            result("any", _then(_forgotten(held), lambda w: w.facts[held])),  # anvil answers the hash
            before=_hold(held),
            after=_automine,
        ),
    ]


def _reset(prefix: str) -> Case:
    case = _setter(f"{prefix}_reset", lambda w: [], "eth_blockNumber", lambda w: [], "0x0")
    return Case(case.method, "back to block 0", case.params, case.check)


CASES = [
    *_cases("anvil"),
    *_cases("hardhat"),
    Case(
        "anvil_setAutomine",
        "off holds transactions until evm_mine",
        lambda w: [False],
        result("any", _then(_mined_later)),
        after=_automine,
    ),
    Case(
        "evm_setAutomine",
        "on mines at once",
        lambda w: [True],
        result("any", _then(lambda w: _sends_as(w.address(3), True)(w))),
    ),
    Case(
        "evm_setIntervalMining",
        "a block a second",
        lambda w: [1],
        result("any", _then(_interval)),
        after=_interval_off,
    ),
    _reset("anvil"),
    _reset("hardhat"),
]
