"""The predeployed allowlist: genesis storage matches the contract, a majority of organisation
admins changes it, and the chain refuses non-allowlisted senders when building AND importing."""

from __future__ import annotations

import json

import pytest
from eth_abi import decode, encode
from eth_account import Account
from eth_utils import function_signature_to_4byte_selector, to_canonical_address

from consortium.network.layout import init_network
from consortium.wallet.keystore import Keystore
from node.chain import Chain
from node.errors import InvalidBlock
from node.genesis import Genesis
from node.permissioning import ALLOWLIST_ADDRESS, Allowlist, AllowlistAccountFilter
from node.storage import Store

ALLOWLIST = to_canonical_address(ALLOWLIST_ADDRESS)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    root = tmp_path_factory.mktemp("net")
    entries = init_network(root, validators=3, members=1, users=2)
    book = json.loads((root / "accounts.json").read_text())
    book["admins"] = [_admin(root / e.folder) for e in entries]  # each from its organisation's keystore
    return root, entries, book


def _admin(folder) -> dict:
    address, key = Keystore(folder / "keystore" / "admin").unlock(
        None, (folder / "password").read_text().strip()
    )
    return {"address": address, "privateKey": "0x" + key.hex()}


def open_chain(root, path) -> Chain:
    chain = Chain(Store(path), Genesis.from_json(root / "genesis.json"))
    chain.account_filter = AllowlistAccountFilter()
    return chain


def call(chain: Chain, signature: str, *args, types=(), returns=("address[]",)):
    data = function_signature_to_4byte_selector(signature) + encode(list(types), list(args))
    computation = chain.call({"to": ALLOWLIST, "data": data, "from": b"\0" * 20}, chain.head)
    assert computation.is_success, computation.error
    return decode(list(returns), computation.output)[0]


def tx(chain: Chain, key: str, nonce: int, signature: str, types=(), args=()):
    data = function_signature_to_4byte_selector(signature) + encode(list(types), list(args))
    signed = Account.sign_transaction(
        {
            "chainId": chain.chain_id,
            "nonce": nonce,
            "to": ALLOWLIST_ADDRESS,
            "data": data,
            "gas": 300_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 1,
            "value": 0,
        },
        key,
    )
    return chain.decode_transaction(bytes(signed.raw_transaction))


def mine(chain: Chain, txs) -> tuple:
    block, receipts = chain.build_block(txs, timestamp=chain.head.timestamp + 1)
    chain.commit_block(block, receipts)
    return block, receipts


def test_genesis_storage_is_what_the_contract_reads(network, tmp_path):
    root, entries, book = network
    chain = open_chain(root, tmp_path / "db")
    reader = Allowlist(chain)
    lower = lambda xs: sorted(x.lower() for x in xs)  # noqa: E731
    admins = [a["address"] for a in book["admins"]]
    accounts = [
        *admins,
        book["deployer"]["address"],
        book["operator"]["address"],
        *(a["address"] for a in book["staff"]),
        *(u["address"] for u in book["users"]),
    ]
    assert lower(call(chain, "getAdmins()")) == lower(admins) == lower(reader.admins())
    assert lower(call(chain, "getNodes()")) == lower(e.node_id for e in entries) == lower(reader.nodes())
    assert lower(call(chain, "getAccounts()")) == lower(accounts) == lower(reader.accounts())
    for account in accounts:
        assert call(chain, "isAccountAllowed(address)", account, types=["address"], returns=["bool"])
        assert reader.is_account_allowed(account)
    stranger = Account.create().address
    assert not reader.is_account_allowed(stranger)
    assert not call(chain, "isAccountAllowed(address)", stranger, types=["address"], returns=["bool"])
    assert reader.is_node_allowed(entries[0].node_id) and not reader.is_node_allowed(stranger)


def test_majority_of_admins_adds_an_account_and_chain_enforces_it(network, tmp_path):
    root, _, book = network
    chain = open_chain(root, tmp_path / "db")
    reader = Allowlist(chain)
    admins = [a["privateKey"] for a in book["admins"]]  # 4 organisations: majority is 3
    newcomer = Account.create()
    gift = Account.sign_transaction(
        {"chainId": chain.chain_id, "nonce": 0, "to": newcomer.address, "value": 10**18, "gas": 21000,
         "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1},
        book["deployer"]["privateKey"],
    )  # fmt: skip
    mine(chain, [chain.decode_transaction(bytes(gift.raw_transaction))])

    def from_newcomer(nonce):
        return tx(chain, newcomer.key, nonce, "getAdmins()")

    # not yet allowed: the builder leaves it out, and a block carrying it is refused on import
    block, _ = chain.build_block([from_newcomer(0)], timestamp=chain.head.timestamp + 1)
    assert block.transactions == ()
    peer = open_chain(root, tmp_path / "peer")
    mine(peer, [peer.decode_transaction(bytes(gift.raw_transaction))])
    peer.account_filter = None  # a misbehaving proposer that ignores permissioning
    bad_block, _ = peer.build_block([from_newcomer(0)], timestamp=peer.head.timestamp + 1)
    assert len(bad_block.transactions) == 1
    with pytest.raises(InvalidBlock, match="allowlist"):
        chain.validate_block(bad_block)

    propose = tx(
        chain,
        admins[0],
        0,
        "propose(uint8,address,bool)",
        ["uint8", "address", "bool"],
        [0, newcomer.address, True],
    )
    _, receipts = mine(chain, [propose])
    assert receipts[0].state_root == b"\x01"  # success
    assert not reader.is_account_allowed(newcomer.address)  # 1 of 4
    mine(chain, [tx(chain, admins[1], 0, "approve(uint256)", ["uint256"], [1])])
    assert not reader.is_account_allowed(newcomer.address)  # 2 of 4 is not a majority
    stranger = Account.create()
    block, _ = chain.build_block([tx(chain, stranger.key, 0, "approve(uint256)", ["uint256"], [1])],
                                 timestamp=chain.head.timestamp + 1)  # fmt: skip
    assert block.transactions == ()  # non-admins cannot even send
    mine(chain, [tx(chain, admins[2], 0, "approve(uint256)", ["uint256"], [1])])
    assert reader.is_account_allowed(newcomer.address)
    block, _ = mine(chain, [from_newcomer(0)])
    assert len(block.transactions) == 1
    assert newcomer.address.lower() in [a.lower() for a in reader.accounts()]


def test_removals_keep_the_lists_consistent_and_admin_changes_move_the_majority(network, tmp_path):
    root, _, book = network
    chain = open_chain(root, tmp_path / "db")
    reader = Allowlist(chain)
    admins = [a["privateKey"] for a in book["admins"]]  # 4 organisations
    nonces = dict.fromkeys(range(len(admins)), 0)

    def act(i: int, signature: str, types: list, args: list):
        raw = tx(chain, admins[i], nonces[i], signature, types, args)
        nonces[i] += 1
        _, receipts = mine(chain, [raw])
        return receipts[0].state_root == b"\x01"

    def propose(i, kind, target, add):
        return act(i, "propose(uint8,address,bool)", ["uint8", "address", "bool"], [kind, target, add])

    def approve(i, pid):
        return act(i, "approve(uint256)", ["uint256"], [pid])

    before = reader.accounts()
    middle = before[len(before) // 2]  # not the last one: removal swaps the last into its place
    assert propose(0, 0, middle, False) and approve(1, 1) and approve(2, 1)
    after = reader.accounts()
    assert sorted(after) == sorted(a for a in before if a != middle)
    assert not reader.is_account_allowed(middle)
    assert all(reader.is_account_allowed(a) for a in after)  # every moved index still points home
    assert not approve(3, 1)  # AlreadyExecuted
    assert not propose(0, 0, middle, False)  # NoChange: it is already off the list

    # a fifth admin joins (3 of 4 approve); the majority becomes 3 of 5
    fifth = Account.create()
    assert propose(0, 2, fifth.address, True) and approve(1, 2) and approve(2, 2)
    assert fifth.address.lower() in [a.lower() for a in reader.admins()]
    assert propose(0, 1, "0x" + "ab" * 20, True) and approve(1, 3)
    assert not reader.is_node_allowed("0x" + "ab" * 20)  # 2 of 5
    assert not approve(1, 3)  # AlreadyApproved
    assert approve(3, 3) and reader.is_node_allowed("0x" + "ab" * 20)
