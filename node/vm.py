"""The EVM the node runs: py-evm's Prague VM without Ethereum mainnet's consensus assumptions.

solc targets `prague` (see consortium/compiler.py) and py-evm implements it, so Prague it is.
What changes: extraData may be long (QBFT keeps validators, round and commit seals there), there
are no beacon-chain requests (deposits, withdrawals, consolidations) to collect after a block,
and header/seal validation is done by the chain with a pluggable `ConsensusRulesAPI`.
"""

from __future__ import annotations

from eth.abc import BlockAPI
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.blocks import PragueBlock, PragueBlockHeader

EXTRA_DATA_MAX_BYTES = 1 << 16

HeaderClass = PragueBlockHeader
BlockClass = PragueBlock


class HubaoVM(PragueVM):
    fork = "hubao-prague"
    extra_data_max_bytes = EXTRA_DATA_MAX_BYTES

    def block_postprocessing(self, block: BlockAPI) -> BlockAPI:
        # No beacon chain: requests_hash stays the hash of an empty request list.
        return block

    def validate_seal(self, header) -> None:  # noqa: ANN001 (seals are the consensus rules' job)
        return None
