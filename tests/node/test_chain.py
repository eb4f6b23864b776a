"""The chain API the consensus layer builds on: build without commit, validate a proposer's block,
refuse tampered blocks with a clear reason, commit atomically, pluggable header rules and identity."""

from __future__ import annotations

import pytest
import rlp
from eth_account import Account
from eth_hash.auto import keccak

from node.abc import ConsensusRulesAPI
from node.chain import Chain
from node.errors import InvalidBlock, NodeError, TxRejected
from node.genesis import dev_accounts, dev_genesis
from node.storage import Store
from node.txpool import TxPool

KEYS = [key for _, key in dev_accounts(3)]
ADDRS = [addr for addr, _ in dev_accounts(3)]


def transfer(chain: Chain, key: bytes, nonce: int, value: int = 1, to: str = ADDRS[2], gas: int = 21000):
    tx = {
        "chainId": 1337,
        "nonce": nonce,
        "to": to,
        "value": value,
        "gas": gas,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    return chain.decode_transaction(bytes(Account.sign_transaction(tx, key).raw_transaction))


@pytest.fixture
def genesis():
    return dev_genesis(3, timestamp=1_700_000_000)


@pytest.fixture
def pair(tmp_path, genesis):
    """A proposer's chain and a validator's chain from the same genesis."""
    return Chain(Store(tmp_path / "a"), genesis), Chain(Store(tmp_path / "b"), genesis)


def test_build_validate_commit_roundtrip(pair):
    proposer, validator = pair
    assert proposer.genesis.hash == validator.genesis.hash
    txs = [transfer(proposer, KEYS[0], n) for n in range(5)] + [transfer(proposer, KEYS[1], 0, value=7)]
    block, receipts = proposer.build_block(txs, timestamp=1_700_000_005, extra_data=b"x" * 200)
    assert proposer.head.block_number == 0, "build_block must not commit"
    assert len(block.transactions) == 6 and len(receipts) == 6
    assert block.header.extra_data == b"x" * 200  # longer than Ethereum's 32 bytes

    # a validator gets the block over the wire, executes it and gets the same receipts
    wire = rlp.encode(block)
    received = rlp.decode(wire, sedes=type(block))
    assert [r.gas_used for r in validator.validate_block(received)] == [r.gas_used for r in receipts]
    validator.commit_block(received)
    proposer.commit_block(block, receipts)
    assert proposer.head.hash == validator.head.hash == block.header.hash
    state = validator.state_at(validator.head)
    assert state.get_nonce(bytes.fromhex(ADDRS[0][2:])) == 5
    assert state.get_balance(bytes.fromhex(ADDRS[2][2:])) == 10_000 * 10**18 + 5 + 7
    loc = validator.get_transaction_location(txs[3].hash)
    assert (loc.block_number, loc.index) == (1, 3)


def test_build_leaves_out_invalid_transactions(pair):
    proposer, _ = pair
    good = transfer(proposer, KEYS[0], 0)
    gap = transfer(proposer, KEYS[0], 5)  # nonce gap
    broke = transfer(proposer, Account.create().key, 0)  # no funds
    block, _ = proposer.build_block([good, gap, broke], timestamp=1_700_000_001)
    assert [tx.hash for tx in block.transactions] == [good.hash]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("state_root", b"\x11" * 32, "state_root mismatch"),
        ("receipt_root", b"\x22" * 32, "receipt_root mismatch"),
        ("gas_used", 1, "gas_used mismatch"),
        ("bloom", 1, "bloom mismatch"),
        ("parent_hash", b"\x33" * 32, "is not head"),
        ("block_number", 5, "does not follow head"),
        ("timestamp", 1_600_000_000, "is not after parent"),
        ("base_fee_per_gas", 1, "base_fee_per_gas mismatch"),
    ],
)
def test_tampered_blocks_are_refused_with_the_reason(pair, field, value, reason):
    proposer, validator = pair
    block, _ = proposer.build_block([transfer(proposer, KEYS[0], 0)], timestamp=1_700_000_001)
    forged = block.copy(header=block.header.copy(**{field: value}))
    with pytest.raises(InvalidBlock, match=reason):
        validator.validate_block(forged)
    with pytest.raises(InvalidBlock):
        validator.commit_block(forged)
    assert validator.head.block_number == 0
    validator.commit_block(block)  # the honest block still goes in
    assert validator.head.hash == block.header.hash


def test_block_with_an_invalid_transaction_is_refused(pair):
    proposer, validator = pair
    block, _ = proposer.build_block([transfer(proposer, KEYS[0], 0)], timestamp=1_700_000_001)
    bad_tx = transfer(proposer, KEYS[0], 7)
    forged = block.copy(transactions=[*block.transactions, bad_tx])
    with pytest.raises(InvalidBlock, match="transaction 1"):
        validator.validate_block(forged)


class SealedRules(ConsensusRulesAPI):
    """Like QBFT: the identity excludes a trailing 'seal' in extraData; headers must carry a tag."""

    def block_hash(self, header):
        return keccak(rlp.encode(header.copy(extra_data=header.extra_data.split(b"|seal")[0])))

    def validate_header(self, header, parent):
        if not header.extra_data.startswith(b"hubao"):
            raise InvalidBlock("missing hubao vanity")


def test_pluggable_rules_and_block_identity(tmp_path, genesis):
    a = Chain(Store(tmp_path / "a"), genesis, rules=SealedRules())
    b = Chain(Store(tmp_path / "b"), genesis, rules=SealedRules())
    block, receipts = a.build_block([transfer(a, KEYS[0], 0)], timestamp=1_700_000_001, extra_data=b"hubao")
    unsealed_hash = block.header.hash
    sealed = block.copy(header=block.header.copy(extra_data=b"hubao|seal:abc"))
    assert a.block_hash(sealed.header) == unsealed_hash
    a.commit_block(sealed, receipts)  # no re-execution needed: same identity as the built block
    assert a.head.hash == unsealed_hash and a.head.extra_data == b"hubao|seal:abc"
    b.commit_block(sealed)
    assert b.head.hash == unsealed_hash
    untagged, _ = b.build_block([], timestamp=1_700_000_002, extra_data=b"nope")
    with pytest.raises(InvalidBlock, match="vanity"):
        b.validate_block(untagged)
    # storage keeps the sealed header under the unsealed identity across a restart
    b.store.close()
    reopened = Chain(Store(tmp_path / "b"), genesis, rules=SealedRules())
    assert reopened.head.hash == unsealed_hash and reopened.head.extra_data == b"hubao|seal:abc"


def test_account_filter_applies_to_pool_builder_and_importer(pair):
    proposer, validator = pair
    banned = bytes.fromhex(ADDRS[1][2:])

    class DenyOne:
        def is_allowed(self, sender, chain, header=None):
            return sender != banned

    pool = TxPool(validator)
    pool.account_filter = DenyOne()
    validator.account_filter = DenyOne()
    with pytest.raises(TxRejected, match="not authorized"):
        pool.add(transfer(validator, KEYS[1], 0))
    block, _ = proposer.build_block([transfer(proposer, KEYS[1], 0)], timestamp=1_700_000_001)
    with pytest.raises(InvalidBlock, match="allowlist"):
        validator.validate_block(block)
    proposer.account_filter = DenyOne()
    filtered, _ = proposer.build_block([transfer(proposer, KEYS[1], 0)], timestamp=1_700_000_001)
    assert filtered.transactions == ()


def test_pool_orders_by_nonce_then_fee(tmp_path, genesis):
    chain = Chain(Store(tmp_path / "c"), genesis)
    pool = TxPool(chain)

    def tx(key, nonce, tip):
        fields = {"chainId": 1337, "nonce": nonce, "to": ADDRS[2], "value": 1, "gas": 21000}
        fields |= {"maxFeePerGas": 10**11, "maxPriorityFeePerGas": tip}
        return bytes(Account.sign_transaction(fields, key).raw_transaction)

    pool.add(tx(KEYS[0], 1, 5 * 10**9))
    pool.add(tx(KEYS[0], 0, 1 * 10**9))
    pool.add(tx(KEYS[1], 0, 3 * 10**9))
    pool.add(tx(KEYS[1], 2, 9 * 10**9))  # gap: waits
    order = [(t.sender, t.nonce) for t in pool.pending()]
    a, b = (bytes.fromhex(x[2:]) for x in ADDRS[:2])
    assert order == [(b, 0), (a, 0), (a, 1)]
    block, receipts = chain.build_block(pool.pending(), timestamp=1_700_000_001)
    chain.commit_block(block, receipts)
    pool.remove_included(block)
    assert len(pool) == 1 and pool.pending() == []
    pool.add(tx(KEYS[1], 1, 1))
    assert [(t.sender, t.nonce) for t in pool.pending()] == [(b, 1), (b, 2)]


def test_a_datadir_of_another_chain_is_refused(tmp_path, genesis):
    Chain(Store(tmp_path / "x"), genesis).store.close()
    other = dev_genesis(3, timestamp=1_700_000_000)
    other.chain_id = 4242
    with pytest.raises(NodeError, match="holds chain 1337, not chain 4242"):
        Chain(Store(tmp_path / "x"), other)
