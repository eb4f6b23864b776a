"""Row: one transaction's gas, as a block-validity rule. The genesis's `config.hubao.txGasLimitCap`
(5M in the genesis files our tools write; EIP-7825's rule with our value) makes a block carrying a
transaction over it invalid: a validator that proposes one (a changed binary or config) is refused
by the others, with the reason in their logs, and the chain goes on without it. The cap is in
eth_config, and the client sizes its batches by it.
"""

from __future__ import annotations

import dataclasses
import json
import zlib

import pytest
from eth_account import Account
from web3 import Web3

from consortium.client.tx import TX_GAS_CAP, per_transaction, tx_gas_cap
from harness.precompile_inputs import BURN
from harness.processes import DevNode
from node.chain import Chain
from node.errors import InvalidBlock
from node.genesis import TX_GAS_LIMIT_CAP, Genesis, dev_accounts, dev_genesis
from node.storage import Store
from node.txpool import TxPool
from tests.support.anvil import anvil

KEY = dev_accounts(1)[0][1]


def burn(chain: Chain, gas: int, nonce: int = 0):
    tx = {"type": 2, "chainId": chain.chain_id, "nonce": nonce, "gas": gas, "maxFeePerGas": 10**10,
          "maxPriorityFeePerGas": 10**9, "data": BURN}  # fmt: skip
    return chain.decode_transaction(bytes(Account.sign_transaction(tx, KEY).raw_transaction))


def test_the_importer_refuses_a_block_with_a_transaction_over_the_chain_cap(tmp_path):
    cap = 100_000  # a small cap, so that the burn loops at it are quick
    ruled = dataclasses.replace(dev_genesis(1, timestamp=1_700_000_000), tx_gas_cap=cap)
    unruled = dataclasses.replace(ruled, tx_gas_cap=None)  # a proposer that ignores the rule
    assert (
        Chain(Store(tmp_path / "x"), unruled).genesis.hash == Chain(Store(tmp_path / "y"), ruled).genesis.hash
    )
    rogue, honest = Chain(Store(tmp_path / "a"), unruled), Chain(Store(tmp_path / "b"), ruled)
    over = burn(rogue, cap + 1)
    block, _ = rogue.build_block([over], timestamp=1_700_000_001)
    assert len(block.transactions) == 1
    with pytest.raises(InvalidBlock) as refused:
        honest.validate_block(block)
    assert str(refused.value) == (
        f"block #1 transaction 0 (0x{over.hash.hex()}) asks {cap + 1} gas, above the "
        f"chain's cap per transaction {cap} (config.hubao.txGasLimitCap)"
    )
    assert honest.head.block_number == 0
    # the honest builder leaves it out; at the cap it is a valid block for both
    assert honest.build_block([over], timestamp=1_700_000_001)[0].transactions == ()
    at_cap, _ = rogue.build_block([burn(rogue, cap)], timestamp=1_700_000_001)
    honest.validate_block(at_cap)
    # the pool's default cap follows the chain's
    assert TxPool(honest).limits.tx_gas_cap == cap
    assert TxPool(rogue).limits.tx_gas_cap == TX_GAS_LIMIT_CAP  # no rule: the node's own default


def test_the_genesis_rule_is_read_as_written_and_absent_means_none(tmp_path):
    from consortium.network.genesis import GenesisSpec, build_genesis

    spec = GenesisSpec(chain_id=7, validators=["0x" + "11" * 20], nodes=["0x" + "11" * 20],
                       admins=["0x" + "22" * 20], funded={})  # fmt: skip
    doc = build_genesis(spec, "0x00")
    assert doc["config"]["hubao"]["txGasLimitCap"] == TX_GAS_LIMIT_CAP == TX_GAS_CAP
    assert doc["config"]["hubao"]["precompilePrices"] == "hubao-1"
    assert Genesis.from_json(json.loads(json.dumps(doc))).tx_gas_cap == TX_GAS_LIMIT_CAP
    del doc["config"]["hubao"]["txGasLimitCap"]
    assert Genesis.from_json(doc).tx_gas_cap is None  # an older genesis: its chain as it was
    doc["config"]["hubao"]["txGasLimitCap"] = "many"
    with pytest.raises(ValueError, match=r"config.hubao.txGasLimitCap must be a number"):
        Genesis.from_json(doc)


def test_the_client_sizes_batches_by_the_node_s_cap_or_the_block_gas_limit(tmp_path):
    with DevNode.start(tmp_path / "data") as node:  # the dev chain has no cap per transaction
        w3 = Web3(Web3.HTTPProvider(node.url))
        config = w3.provider.make_request("eth_config", [])["result"]
        assert config["next"] is None and config["last"] is None
        current = config["current"]
        assert current["activationTime"] == 0 and current["chainId"] == "0x539"
        assert current["blobSchedule"] == {"baseFeeUpdateFraction": 5007716, "max": 9, "target": 6}
        genesis_hash = bytes(w3.eth.get_block(0)["hash"])
        assert current["forkId"] == "0x" + zlib.crc32(genesis_hash).to_bytes(4, "big").hex()
        assert current["precompiles"]["BN254_PAIRING"] == "0x" + "00" * 19 + "08"
        assert len(current["precompiles"]) == 17 and current["systemContracts"] == {}
        assert current["hubao"] == {"txGasLimitCap": None, "precompilePrices": "hubao-1"}
        assert tx_gas_cap(w3) == w3.eth.get_block("latest")["gasLimit"] == 30_000_000
    with anvil(tmp_path) as anvil_url:  # no Hubao rule there: the block gas limit
        w3 = Web3(Web3.HTTPProvider(anvil_url))
        assert tx_gas_cap(w3) == w3.eth.get_block("latest")["gasLimit"]
    assert per_transaction(80_000, 160_000, 100, cap=1_000_000) == 5  # (1,000,000 - 80,000) // 160,000
    assert per_transaction(80_000, 160_000, 100, cap=TX_GAS_LIMIT_CAP) == 30
