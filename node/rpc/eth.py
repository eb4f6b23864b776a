"""The eth namespace (everything but subscriptions), as geth answers it, over an `RpcBackendAPI`."""

from __future__ import annotations

from typing import Any

from eth.exceptions import Revert, VMError
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address

from node.abc import RpcBackendAPI, RpcHandler, RpcNamespaceAPI
from node.chain import BLOCK_CACHE
from node.errors import EXECUTION_REVERTED, SERVER_ERROR, RpcError, TxRejected
from node.proof import get_proof
from node.recent import Recent
from node.rpc import params
from node.rpc.filters import LogCriteria, get_logs
from node.rpc.format import block_json, hb, hx, receipts_json, tx_json

DEFAULT_TIP = 1_000_000_000  # 1 gwei suggested priority fee
ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


def revert_error(output: bytes) -> RpcError:
    """geth's reply for a revert: code 3, "execution reverted[: reason]", data = the revert bytes."""
    message = "execution reverted"
    try:
        if output[:4] == ERROR_SELECTOR:
            message += ": " + abi_decode(["string"], output[4:])[0]
        elif output[:4] == PANIC_SELECTOR:
            message += f": panic code {hex(abi_decode(['uint256'], output[4:])[0])}"
    except Exception:
        pass
    return RpcError(EXECUTION_REVERTED, message, hb(output))


def vm_error(error: VMError, output: bytes) -> RpcError:
    if isinstance(error, Revert):
        return revert_error(output)
    text = type(error).__name__
    known = {
        "OutOfGas": "out of gas",
        "InvalidInstruction": "invalid opcode",
        "StackDepthLimit": "max call depth",
    }
    return RpcError(SERVER_ERROR, known.get(text, str(error) or text))


class EthNamespace(RpcNamespaceAPI):
    name = "eth"

    def __init__(self, backend: RpcBackendAPI) -> None:
        self.backend = backend
        self.chain = backend.chain
        self.pool = backend.txpool
        self.filters = backend.filters
        self._receipts = Recent(BLOCK_CACHE)

    def methods(self) -> dict[str, RpcHandler]:
        return {
            "eth_chainId": self.chain_id,
            "eth_blockNumber": self.block_number,
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_transaction_count,
            "eth_getCode": self.get_code,
            "eth_getStorageAt": self.get_storage_at,
            "eth_getProof": lambda address, keys, block=None: get_proof(
                self.chain.trie_node, self.header(block), address, keys
            ),
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_gasPrice": self.gas_price,
            "eth_maxPriorityFeePerGas": self.max_priority_fee,
            "eth_feeHistory": self.fee_history,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_sendTransaction": self.send_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionByBlockHashAndIndex": self.get_tx_by_block_hash_and_index,
            "eth_getTransactionByBlockNumberAndIndex": self.get_tx_by_block_number_and_index,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockReceipts": self.get_block_receipts,
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
            "eth_accounts": self.accounts,
        }

    # -- helpers -------------------------------------------------------------------------------
    def header(self, block: Any, required: bool = True):
        ident = params.block_id(block)
        chain = self.chain
        if ident in ("latest", "pending", "safe", "finalized"):
            return chain.head
        if ident == "earliest":
            return chain.genesis
        header = (
            chain.get_header_by_hash(ident) if isinstance(ident, bytes) else chain.get_header_by_number(ident)
        )
        if header is None and required:
            raise RpcError(SERVER_ERROR, "header not found")
        return header

    def _state(self, block: Any):
        return self.chain.state_at(self.header(block))

    def _receipts_json(self, block_hash: bytes) -> list[dict]:
        """A block's receipts as JSON, made once per block: each needs the earlier ones' gas and logs.

        Looked up before touching the block, so polling one receipt of a recent block costs no
        decoding or formatting of its siblings.
        """
        cached = self._receipts.get(block_hash)
        if cached is None:
            chain = self.chain
            reverts = chain.get_revert_data if self.backend.revert_reason else None
            block, receipts = chain.get_block_by_hash(block_hash), chain.get_receipts(block_hash)
            cached = self._receipts.put(block_hash, receipts_json(block, receipts, reverts))
        return cached

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

    def accounts(self) -> list[str]:
        return list(self.backend.unlocked)

    # -- fees --------------------------------------------------------------------------------
    def next_base_fee(self) -> int:
        return calculate_expected_base_fee_per_gas(self.chain.head)

    def gas_price(self) -> str:
        return hx(self.next_base_fee() + DEFAULT_TIP)

    def max_priority_fee(self) -> str:
        return hx(DEFAULT_TIP)

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

    # -- execution ---------------------------------------------------------------------------
    def call(self, tx: Any, block: Any = "latest", overrides: Any = None) -> str:
        _no_overrides(overrides)
        header = self.header(block)
        computation = self.chain.call(params.call_object(tx), header)
        if computation.is_error:
            raise vm_error(computation.error, computation.output)
        return hb(computation.output)

    def estimate_gas(self, tx: Any, block: Any = "latest", overrides: Any = None) -> str:
        _no_overrides(overrides)
        header = self.header(block)
        call = params.call_object(tx)
        try:
            return hx(self.chain.estimate_gas(call, header))
        except VMError as exc:
            computation = self.chain.call({**call, "gas": None}, header)
            if computation.is_error:
                raise vm_error(computation.error, computation.output) from exc
            raise RpcError(SERVER_ERROR, f"gas required exceeds allowance ({self.chain.gas_limit})") from exc

    # -- transactions --------------------------------------------------------------------------
    def send_raw_transaction(self, raw: str) -> str:
        payload = params.data(raw, "raw transaction")
        try:
            return hb(self.pool.add(payload))
        except TxRejected as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from exc

    def send_transaction(self, tx: Any) -> str:
        """Dev mode: sign with one of the unlocked dev accounts (like anvil / hardhat)."""
        from eth_account import Account

        if not isinstance(tx, dict) or "from" not in tx:
            raise params.bad("invalid argument 0: transaction object with from required")
        call = params.call_object(tx)
        sender = "0x" + call["from"].hex()
        key = {a.lower(): k for a, k in self.backend.unlocked.items()}.get(sender)
        if key is None:
            raise RpcError(SERVER_ERROR, "unknown account")
        tip = call.get("maxPriorityFeePerGas", DEFAULT_TIP)
        fields = {
            "chainId": self.chain.chain_id,
            "nonce": call.get("nonce", self.pool.nonce_of(call["from"])),
            "value": call.get("value", 0),
            "data": call.get("data", b""),
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": call.get("maxFeePerGas", 2 * self.next_base_fee() + tip),
            "type": 2,
        }
        if "to" in call:
            fields["to"] = to_checksum_address(call["to"])
        fields["gas"] = call.get("gas") or params.quantity(self.estimate_gas(tx))
        signed = Account.sign_transaction(fields, key)
        return self.send_raw_transaction(hb(bytes(signed.raw_transaction)))

    def get_transaction_by_hash(self, tx_hash: str) -> dict | None:
        h = params.hash32(tx_hash)
        loc = self.chain.get_transaction_location(h)
        if loc is None:
            pending = self.pool.get(h)
            return tx_json(pending) if pending is not None else None
        block = self.chain.get_block_by_hash(loc.block_hash)
        return tx_json(block.transactions[loc.index], block.header, loc.index)

    def _tx_at(self, block, index: Any) -> dict | None:
        i = params.quantity(index, "index")
        if block is None or i >= len(block.transactions):
            return None
        return tx_json(block.transactions[i], block.header, i)

    def get_tx_by_block_hash_and_index(self, block_hash: str, index: Any) -> dict | None:
        return self._tx_at(self.chain.get_block_by_hash(params.hash32(block_hash)), index)

    def get_tx_by_block_number_and_index(self, block: Any, index: Any) -> dict | None:
        header = self.header(block, required=False)
        return self._tx_at(header and self.chain.get_block_by_hash(header.hash), index)

    def get_transaction_receipt(self, tx_hash: str) -> dict | None:
        loc = self.chain.get_transaction_location(params.hash32(tx_hash))
        if loc is None:
            return None
        return self._receipts_json(loc.block_hash)[loc.index]

    # -- blocks --------------------------------------------------------------------------------
    def get_block_by_number(self, block: Any, full: bool = False) -> dict | None:
        header = self.header(block, required=False)
        if header is None:
            return None
        return block_json(self.chain.get_block_by_hash(header.hash), bool(full))

    def get_block_by_hash(self, block_hash: str, full: bool = False) -> dict | None:
        block = self.chain.get_block_by_hash(params.hash32(block_hash))
        return None if block is None else block_json(block, bool(full))

    def get_block_receipts(self, block: Any) -> list | None:
        header = self.header(block, required=False)
        if header is None:
            return None
        return self._receipts_json(header.hash)

    def block_tx_count_by_number(self, block: Any) -> str | None:
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


def _no_overrides(overrides: Any) -> None:
    """State overrides are not implemented: refuse them rather than answer as if they applied."""
    if overrides:
        raise params.bad("invalid argument 2: state overrides are not supported")


def _filter_id(fid: Any) -> str:
    if not isinstance(fid, str) or not fid.startswith("0x"):
        raise params.bad("invalid argument 0: filter id must be a hex string")
    return hex(int(fid, 16)) if len(fid) > 2 else fid
