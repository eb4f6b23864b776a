"""The dev chain's JSON-RPC controls over a `DevControlAPI`, by anvil's and hardhat's names, offered
by the dev sealer (so only a dev node has them):

- evm: mine, increaseTime, setNextBlockTimestamp, snapshot, revert, setAutomine, setIntervalMining
- anvil and hardhat: mine, setBalance, setCode, setNonce, setStorageAt, impersonateAccount,
  stopImpersonatingAccount, dropTransaction, reset, getAutomine; anvil also setAutomine,
  setIntervalMining, getIntervalMining, dropAllTransactions.

geth has none of these. Answers are anvil's (setters null, anvil_dropTransaction the hash) and
hardhat's (setters true) under their names; what a setter sets reads back at once through the
standard methods (it is a block, see node/sealer.py). Forking is not offered: anvil_reset with a
`forking` object is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from node.abc import DevControlAPI, RpcNamespaceAPI
from node.errors import SERVER_ERROR, RpcError
from node.rpc import params

MAX_MINE = 10_000  # blocks one anvil_mine may seal


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise params.bad(f"invalid argument 0: {name} must be true or false")
    return value


def _seconds(value: Any, name: str) -> int:
    """A JSON number or a hex quantity of seconds."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return params.quantity(value, name)


class EvmNamespace(RpcNamespaceAPI):
    name = "evm"

    def __init__(self, controls: DevControlAPI) -> None:
        self.controls = controls

    def methods(self) -> dict[str, Any]:
        return {
            "evm_mine": self.mine,
            "evm_increaseTime": self.increase_time,
            "evm_setNextBlockTimestamp": self.set_next_block_timestamp,
            "evm_snapshot": self.snapshot,
            "evm_revert": self.revert,
            "evm_setAutomine": lambda on: self.controls.set_mining(automine=_flag(on, "automine")),
            "evm_setIntervalMining": lambda secs: self.controls.set_mining(
                interval=_seconds(secs, "interval")
            ),
        }

    def mine(self, timestamp: Any = None) -> str:
        """Seal one block now with whatever is pending (optionally at a given timestamp)."""
        if isinstance(timestamp, dict):  # hardhat/ganache style {"timestamp": t, "blocks": n}
            timestamp = timestamp.get("timestamp")
        if timestamp is not None:
            self.set_next_block_timestamp(timestamp)
        self.controls.mine()
        return "0x0"

    def increase_time(self, seconds: Any) -> int:
        return self.controls.increase_time(_seconds(seconds, "seconds"))

    def set_next_block_timestamp(self, timestamp: Any) -> None:
        try:
            self.controls.set_next_block_timestamp(_seconds(timestamp, "timestamp"))
        except ValueError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from None

    def snapshot(self) -> str:
        return hex(self.controls.snapshot())

    def revert(self, snapshot_id: Any) -> bool:
        return self.controls.revert(params.quantity(snapshot_id, "snapshot id"))


class DevMethods(RpcNamespaceAPI):
    """The methods anvil and hardhat share; `done` is what a setter answers (anvil null, hardhat true)."""

    done: Any = None

    def __init__(self, controls: DevControlAPI) -> None:
        self.controls = controls

    def methods(self) -> dict[str, Any]:
        p = self.name + "_"
        return {
            p + "mine": self.mine,
            p + "setBalance": lambda address, value: self._edit(
                "setBalance", address, lambda s, a: s.set_balance(a, params.quantity(value, "balance"))
            ),
            p + "setCode": lambda address, code: self._edit(
                "setCode", address, lambda s, a: s.set_code(a, params.data(code, "code"))
            ),
            p + "setNonce": lambda address, nonce: self._edit(
                "setNonce", address, lambda s, a: s.set_nonce(a, params.quantity(nonce, "nonce"))
            ),
            p + "setStorageAt": self.set_storage_at,
            p + "impersonateAccount": lambda address: self._impersonate(address, True),
            p + "stopImpersonatingAccount": lambda address: self._impersonate(address, False),
            p + "dropTransaction": self.drop_transaction,
            p + "reset": self.reset,
            p + "getAutomine": lambda: self.controls.mining()[0],
        }

    def mine(self, blocks: Any = None, interval: Any = None) -> Any:
        """Seal `blocks` blocks (default 1), moving the clock `interval` seconds before each."""
        count = params.quantity(blocks, "blocks") if blocks is not None else 1
        step = _seconds(interval, "interval") if interval is not None else 0
        if count > MAX_MINE:
            raise params.bad(f"invalid argument 0: at most {MAX_MINE} blocks at once")
        for _ in range(count):
            if step:
                self.controls.increase_time(step)
            self.controls.mine()
        return self.done

    def _edit(self, method: str, address: Any, edit: Callable[[Any, bytes], None]) -> Any:
        target = params.address(address)
        edit(_Dry(), target)  # parse every argument before anything is sealed
        self.controls.edit_state(f"{self.name}_{method}", lambda state: edit(state, target))
        return self.done

    def set_storage_at(self, address: Any, slot: Any, value: Any) -> Any:
        word = params.data(value, "value")
        if len(word) != 32:
            raise params.bad("invalid argument 2: a storage value is 32 bytes (0x and 64 hex digits)")
        index = params.quantity(slot, "slot")
        return self._edit(
            "setStorageAt", address, lambda s, a: s.set_storage(a, index, int.from_bytes(word, "big"))
        )

    def _impersonate(self, address: Any, on: bool) -> Any:
        self.controls.impersonate(params.address(address), on)
        return self.done

    def drop_transaction(self, tx_hash: Any) -> Any:
        return self.controls.drop_transaction(params.hash32(tx_hash))

    def reset(self, options: Any = None) -> Any:
        if options is not None and not isinstance(options, dict):
            raise params.bad("invalid argument 0: reset takes an object, or nothing")
        if options and options.get("forking") is not None:
            raise params.bad(
                "invalid argument 0: forking is not supported: this node cannot fork another chain"
            )
        unknown = sorted(set(options or {}) - {"forking"})
        if unknown:
            raise params.bad(f"invalid argument 0: unknown reset option {unknown[0]!r}")
        self.controls.reset()
        return self.done


class _Dry:
    """Stands for a state while a setter's arguments are checked: every write is ignored."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None


class AnvilNamespace(DevMethods):
    name = "anvil"

    def methods(self) -> dict[str, Any]:
        return {
            **super().methods(),
            "anvil_setAutomine": lambda on: self.controls.set_mining(automine=_flag(on, "automine")),
            "anvil_setIntervalMining": lambda secs: self.controls.set_mining(
                interval=_seconds(secs, "interval")
            ),
            "anvil_getIntervalMining": lambda: self.controls.mining()[1],
            "anvil_dropAllTransactions": self.drop_all,
        }

    def drop_transaction(self, tx_hash: Any) -> str | None:
        """anvil answers the hash it dropped, or null."""
        return tx_hash if super().drop_transaction(tx_hash) else None

    def drop_all(self) -> None:
        self.controls.drop_all_transactions()


class HardhatNamespace(DevMethods):
    name = "hardhat"
    done = True
