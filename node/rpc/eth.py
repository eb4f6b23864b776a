"""The eth namespace (everything but subscriptions), as geth answers it, over an `RpcBackendAPI`."""

from __future__ import annotations

from typing import Any

from eth._utils.calculations import fake_exponential
from eth.vm.forks.cancun.constants import MIN_BLOB_BASE_FEE
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth.vm.forks.prague.constants import BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE

from node.abc import RpcBackendAPI, RpcHandler, RpcNamespaceAPI
from node.calls.pending import pending_block
from node.proof import get_proof
from node.rpc import blocks, params
from node.rpc.execution import CallMethods
from node.rpc.fees import DEFAULT_TIP
from node.rpc.filters import LogCriteria, get_logs
from node.rpc.format import block_json, hb, hx
from node.rpc.send import SendMethods
from node.rpc.sign import Keys, SignMethods
from node.rpc.simulate import SimulateMethods
from node.rpc.transactions import TxMethods


class EthNamespace(RpcNamespaceAPI):
    name = "eth"

    def __init__(self, backend: RpcBackendAPI) -> None:
        self.backend = backend
        self.chain = backend.chain
        self.pool = backend.txpool
        self.filters = backend.filters
        self.calls = CallMethods(self.chain, self.header, self.next_base_fee)
        self.txs = TxMethods(backend, self.header)
        self.simulation = SimulateMethods(self.chain, self.header)
        self._pending: tuple | None = None  # (head and pool's block, the pending block)
        keys = Keys(backend.unlocked)
        self.signing = SignMethods(keys)
        self.sending = SendMethods(backend, keys, self.next_base_fee, self._estimate_latest)

    def methods(self) -> dict[str, RpcHandler]:
        return {
            **self.calls.methods(),
            **self.txs.methods(),
            **self.simulation.methods(),
            **self.signing.methods(),
            **self.sending.methods(),
            "eth_chainId": self.chain_id,
            "eth_blockNumber": self.block_number,
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_transaction_count,
            "eth_getCode": self.get_code,
            "eth_getStorageAt": self.get_storage_at,
            "eth_getProof": lambda address, keys, block=None: get_proof(
                self.chain.trie_node, self.header(block), address, keys
            ),
            "eth_gasPrice": self.gas_price,
            "eth_maxPriorityFeePerGas": self.max_priority_fee,
            "eth_blobBaseFee": self.blob_base_fee,
            "eth_feeHistory": self.fee_history,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.block_tx_count_by_number,
            "eth_getBlockTransactionCountByHash": self.block_tx_count_by_hash,
            "eth_getUncleCountByBlockNumber": lambda block: "0x0",
            "eth_getUncleCountByBlockHash": lambda block_hash: "0x0",
            "eth_getLogs": self.get_logs,
            "eth_newFilter": self.new_filter,
            "eth_newBlockFilter": self.new_block_filter,
            "eth_newPendingTransactionFilter": self.new_pending_filter,
            "eth_getFilterChanges": self.get_filter_changes,
            "eth_getFilterLogs": self.get_filter_logs,
            "eth_uninstallFilter": self.uninstall_filter,
            "eth_syncing": self.backend.sync_status,
            "eth_mining": lambda: True,
            "eth_hashrate": lambda: "0x0",
            "eth_coinbase": lambda: hb(self.chain.coinbase),
        }

    # -- helpers -------------------------------------------------------------------------------
    def header(self, block: Any, required: bool = True):
        return blocks.header(self.chain, block, required)

    async def _estimate_latest(self, args) -> int:
        calls = self.chain.calls
        return await calls.estimate(calls.env(self.chain.head), args)

    def _state(self, block: Any):
        return self.chain.state_at(self.header(block))

    # -- simple reads ----------------------------------------------------------------------------
    def chain_id(self) -> str:
        return hx(self.chain.chain_id)

    def block_number(self) -> str:
        return hx(self.chain.head.block_number)

    def get_balance(self, address: str, block: Any = "latest") -> str:
        return hx(self._state(block).get_balance(params.address(address)))

    def get_transaction_count(self, address: str, block: Any = "latest") -> str:
        addr = params.address(address)
        if block == "pending":
            return hx(self.pool.nonce_of(addr))
        return hx(self._state(block).get_nonce(addr))

    def get_code(self, address: str, block: Any = "latest") -> str:
        return hb(self._state(block).get_code(params.address(address)))

    def get_storage_at(self, address: str, slot: str, block: Any = "latest") -> str:
        value = self._state(block).get_storage(params.address(address), params.quantity(slot, "slot"))
        return hb(value.to_bytes(32, "big"))

    # -- fees --------------------------------------------------------------------------------
    def next_base_fee(self) -> int:
        return calculate_expected_base_fee_per_gas(self.chain.head)

    def gas_price(self) -> str:
        return hx(self.next_base_fee() + DEFAULT_TIP)

    def max_priority_fee(self) -> str:
        return hx(DEFAULT_TIP)

    def blob_base_fee(self) -> str:
        """EIP-4844's blob gas price of the head (Prague's update fraction); 1 wei, as no block
        carries blobs here."""
        excess = self.chain.head.excess_blob_gas
        return hx(fake_exponential(MIN_BLOB_BASE_FEE, excess, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE))

    def fee_history(self, block_count: Any, newest: Any, percentiles: list | None = None) -> dict:
        count = min(params.quantity(block_count, "blockCount"), 1024)
        newest_header = self.header(newest)
        oldest = max(0, newest_header.block_number - count + 1)
        base_fees, ratios, rewards = [], [], []
        if percentiles is not None and (
            not isinstance(percentiles, list) or any(not isinstance(p, int | float) for p in percentiles)
        ):
            raise params.bad("invalid argument 2: reward percentiles must be numbers")
        for n in range(oldest, newest_header.block_number + 1):
            block = self.chain.get_block_by_number(n)
            header = block.header
            base_fees.append(hx(header.base_fee_per_gas))
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
            if percentiles is not None:
                rewards.append(self._rewards(block, percentiles))
        base_fees.append(hx(calculate_expected_base_fee_per_gas(newest_header)))
        out: dict[str, Any] = {
            "oldestBlock": hx(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
            "baseFeePerBlobGas": ["0x1"] * len(base_fees),
            "blobGasUsedRatio": [0.0] * len(ratios),
        }
        if percentiles is not None:
            out["reward"] = rewards
        return out

    def _rewards(self, block, percentiles: list) -> list[str]:
        header = block.header
        if not block.transactions:
            return ["0x0"] * len(percentiles)
        receipts = self.chain.get_receipts(header.hash)
        used, prev = [], 0
        for r in receipts:
            used.append(r.gas_used - prev)
            prev = r.gas_used
        tips = sorted(
            (min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - header.base_fee_per_gas), g)
            for tx, g in zip(block.transactions, used, strict=True)
        )
        total = sum(g for _, g in tips) or 1
        out = []
        for p in percentiles:
            threshold, acc, pick = total * p / 100, 0, tips[-1][0]
            for tip, g in tips:
                acc += g
                if acc >= threshold:
                    pick = tip
                    break
            out.append(hx(pick))
        return out

    # -- blocks --------------------------------------------------------------------------------
    async def get_block_by_number(self, block: Any, full: bool = False) -> dict | None:
        if params.block_id(block) == "pending":
            out = block_json(await self.pending_block(), bool(full))
            return out | {"hash": None, "nonce": None, "miner": None}  # as geth nulls them
        header = self.header(block, required=False)
        if header is None:
            return None
        return block_json(self.chain.get_block_by_hash(header.hash), bool(full))

    async def pending_block(self):
        """The pool's transactions on top of head (built on the call worker), kept while neither
        the head nor what the pool would put in a block changes."""
        chain = self.chain
        txs = self.pool.pending(chain.gas_limit)
        key = (chain.head.hash, tuple(tx.hash for tx in txs))
        if self._pending is None or self._pending[0] != key:
            fields = {"gas_limit": chain.gas_limit, "coinbase": chain.coinbase}
            fields |= chain.rules.header_fields()
            stamp = chain.calls.env(chain.head).timestamp
            block = await chain.calls.on_worker(pending_block, chain.head, stamp, fields, txs)
            self._pending = (key, block)
        return self._pending[1]

    def get_block_by_hash(self, block_hash: str, full: bool = False) -> dict | None:
        block = self.chain.get_block_by_hash(params.hash32(block_hash))
        return None if block is None else block_json(block, bool(full))

    async def block_tx_count_by_number(self, block: Any) -> str | None:
        if params.block_id(block) == "pending":
            return hx(len((await self.pending_block()).transactions))
        header = self.header(block, required=False)
        return None if header is None else hx(len(self.chain.get_block_by_hash(header.hash).transactions))

    def block_tx_count_by_hash(self, block_hash: str) -> str | None:
        block = self.chain.get_block_by_hash(params.hash32(block_hash))
        return None if block is None else hx(len(block.transactions))

    # -- logs and filters ----------------------------------------------------------------------
    def get_logs(self, criteria: Any) -> list[dict]:
        return get_logs(self.chain, LogCriteria.parse(criteria))

    def new_filter(self, criteria: Any) -> str:
        return self.filters.new_log_filter(LogCriteria.parse(criteria))

    def new_block_filter(self) -> str:
        return self.filters.new_block_filter()

    def new_pending_filter(self) -> str:
        return self.filters.new_pending_filter()

    def get_filter_changes(self, fid: str) -> list:
        return self.filters.changes(_filter_id(fid))

    def get_filter_logs(self, fid: str) -> list:
        return self.filters.all_logs(_filter_id(fid))

    def uninstall_filter(self, fid: str) -> bool:
        return self.filters.uninstall(_filter_id(fid))


def _filter_id(fid: Any) -> str:
    if not isinstance(fid, str) or not fid.startswith("0x"):
        raise params.bad("invalid argument 0: filter id must be a hex string")
    return hex(int(fid, 16)) if len(fid) > 2 else fid
