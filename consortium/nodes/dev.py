"""The dev node (`hubao node run --dev`): one process, chain id 1337 (or `--chain-id`), anvil's
funded test accounts unlocked (eth_sendTransaction, eth_sign*, personal_sign), blocks sealed on
arrival or every `--block-time` seconds, anvil's and hardhat's evm_/anvil_/hardhat_ controls, and
the evidence store (without replication: there are no peers)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from consortium.evidence.service import EvidenceService
from node.calls.worker import CallLimits
from node.clock import DevClock
from node.core import NodeCore
from node.genesis import DEV_BALANCE, DEV_CHAIN_ID, DEV_MNEMONIC, dev_accounts, dev_genesis
from node.limits import NodeLimits
from node.rpc.access import RpcAccess
from node.rpc.listener import HttpLimits
from node.rpc.sign import Signer
from node.sealer import DevSealer

# One node and no round timer: like anvil, no gas cap per transaction beyond the block's, unless
# --tx-gas-cap asks for one. The other limits are a consortium node's.
DEV_LIMITS = NodeLimits(tx_gas_cap=0)


class DevNode:
    def __init__(
        self,
        datadir: str | Path,
        accounts: int = 10,
        block_time: float = 0,
        chain_id: int = DEV_CHAIN_ID,
        call_limits: CallLimits | None = None,
        revert_reason: bool = True,
        limits: NodeLimits | None = None,
    ) -> None:
        self.datadir = str(datadir)
        self.accounts = dev_accounts(accounts)
        self.clock = DevClock()
        genesis = dataclasses.replace(dev_genesis(accounts, timestamp=int(time.time())), chain_id=chain_id)
        self.core = NodeCore(
            datadir,
            genesis,
            self.clock,
            unlocked=dict(self.accounts),
            revert_reason=revert_reason,
            limits=limits or DEV_LIMITS,
        )
        if call_limits is not None:
            self.core.chain.calls.set_limits(call_limits)
        # the sealer impersonates by entering addresses in the very map the eth namespace signs from
        self.core.set_producer(DevSealer(self.clock, block_time, accounts=self.core.unlocked))
        self.core.add_service(Signer(self.core.unlocked))
        self.core.add_service(EvidenceService(datadir, self.core.chain))

    async def start(
        self, host: str, port: int, access: RpcAccess | None = None, limits: HttpLimits | None = None
    ) -> None:
        """Listen on host:port (0: any free port) under `access` (default: every namespace, which
        a loopback-only host serves without JWT), then seal. A busy port raises OSError."""
        await self.core.listen(host, port, access, limits)
        await self.core.start()

    async def stop(self) -> None:
        await self.core.stop()

    def banner(self, host: str) -> str:
        """The anvil-style banner: accounts, keys, mnemonic, chain id, then the listening address."""
        accounts = self.accounts
        lines = ["", "Available Accounts", "=================="]
        lines += [f"({i}) {addr} ({DEV_BALANCE / 10**18:.6f} ETH)" for i, (addr, _) in enumerate(accounts)]
        lines += ["", "Private Keys", "=================="]
        lines += [f"({i}) 0x{key.hex()}" for i, (_, key) in enumerate(accounts)]
        lines += ["", "Wallet", "==================", f"Mnemonic:          {DEV_MNEMONIC}"]
        lines += ["Derivation path:   m/44'/60'/0'/0/", "", "Chain ID", "=================="]
        lines += [str(self.core.chain.chain_id)]
        lines += ["", f"Data directory: {self.datadir}", f"Listening on {host}:{self.core.port}", ""]
        return "\n".join(lines)
