"""The EVM the node runs: py-evm's Prague VM without Ethereum mainnet's consensus assumptions.

solc targets `prague` (see consortium/compiler.py) and py-evm implements it, so Prague it is.
What changes: extraData may be long (QBFT keeps validators, round and commit seals there), there
are no beacon-chain requests (deposits, withdrawals, consolidations) to collect after a block,
and header/seal validation is done by the chain with a pluggable `ConsensusRulesAPI`.

`vm_for(genesis)` picks the VM a chain's rules ask for: `HubaoVM` with Ethereum's precompile
prices, or `PricedHubaoVM` with Hubao's (node/precompiles.py) when the genesis sets
`config.hubao.precompilePrices`. Every node of a chain runs the same one, since the genesis is
the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, WithdrawalAPI
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlock, PragueBlockHeader
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState

from node.genesis import HUBAO_PRICES, Genesis
from node.precompiles import HUBAO_PRECOMPILES
from node.trie import ordered_trie_root

EXTRA_DATA_MAX_BYTES = 1 << 16

HeaderClass = PragueBlockHeader
BlockClass = PragueBlock


class HubaoVM(PragueVM):
    fork = "hubao-prague"
    extra_data_max_bytes = EXTRA_DATA_MAX_BYTES
    precompile_prices: str | None = None  # config.hubao.precompilePrices this VM charges (None: Ethereum's)

    def set_block_transactions_and_withdrawals(
        self,
        base_block: BlockAPI,
        new_header: BlockHeaderAPI,
        transactions: Sequence[SignedTransactionAPI],
        receipts: Sequence[ReceiptAPI],
        withdrawals: Sequence[WithdrawalAPI] | None = None,
    ) -> BlockAPI:
        # Same roots as py-evm, built in one pass; blocks and receipts are stored whole, not as tries.
        header = new_header.copy(
            transaction_root=ordered_trie_root([tx.encode() for tx in transactions]),
            receipt_root=ordered_trie_root([r.encode() for r in receipts]),
        )
        return base_block.copy(transactions=transactions, header=header)

    def block_postprocessing(self, block: BlockAPI) -> BlockAPI:
        # No beacon chain: requests_hash stays the hash of an empty request list.
        return block

    def validate_seal(self, header) -> None:  # noqa: ANN001 (seals are the consensus rules' job)
        return None


class PricedComputation(PragueComputation):
    _precompiles = HUBAO_PRECOMPILES


class PricedState(PragueState):
    computation_class = PricedComputation


class PricedHubaoVM(HubaoVM):
    """HubaoVM with Hubao's precompile prices (the chain rule `config.hubao.precompilePrices`)."""

    fork = "hubao-prague-priced"
    precompile_prices = HUBAO_PRICES
    _state_class = PricedState


def vm_for(genesis: Genesis) -> type[HubaoVM]:
    return PricedHubaoVM if genesis.precompile_prices else HubaoVM


def floor_data_gas(tx) -> int:
    """EIP-7623 (Prague): 21000 + 10 gas per calldata token (zero byte 1 token, other 4)."""
    zeros = tx.data.count(0)
    tokens = zeros + 4 * (len(tx.data) - zeros)
    return 21000 + 10 * tokens
