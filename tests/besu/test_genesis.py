"""Genesis read as Besu reads it and block 0 built as Besu builds it: GenesisStateTest's Prague
genesis and its expected hash, the QBFT genesis of Besu's acceptance tests and the besu-docs example,
Besu's spellings and number formats, refusals of fork schedules Hubao does not run, and the genesis
`hubao net init` writes."""

from __future__ import annotations

import copy

import pytest
import rlp
from eth_hash.auto import keccak

from node.chain import Chain
from node.genesis import Genesis, GenesisError
from node.qbft.config import QbftConfig, QbftConfigError
from node.qbft.extradata import BFT_MIX_HASH, ExtraData, genesis_extra_data
from node.storage import Store
from tests.besu.vectors import VECTORS, fixture, hexb

PRAGUE = {"londonBlock": 0, "shanghaiTime": 0, "cancunTime": 0, "pragueTime": 0}
EMPTY_TRIE = hexb("0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
EMPTY_OMMERS = hexb("0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347")
EMPTY_REQUESTS = hexb("0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def chain_of(tmp_path, doc) -> Chain:
    return Chain(Store(str(tmp_path / "chain")), Genesis.from_json(doc))


def besu_genesis_hash(doc: dict, state_root: bytes) -> bytes:
    """GenesisState.buildHeader for a Prague-at-genesis file, transcribed field by field."""
    return keccak(
        rlp.encode(
            [
                hexb(doc.get("parentHash", "0x" + "00" * 32)), EMPTY_OMMERS, hexb(doc["coinbase"]),
                state_root, EMPTY_TRIE, EMPTY_TRIE, b"\0" * 256, int(doc["difficulty"], 16), 0,
                int(doc["gasLimit"], 16), 0, int(doc["timestamp"], 16), hexb(doc["extraData"]),
                hexb(doc["mixHash"]), int(doc["nonce"], 16).to_bytes(8, "big"), 1_000_000_000,
                EMPTY_TRIE, 0, 0, b"\0" * 32, EMPTY_REQUESTS,
            ]
        )
    )  # fmt: skip


def test_besu_genesis_state_test_prague_hash(tmp_path):
    expected = VECTORS["genesis_prague"]
    chain = chain_of(tmp_path, fixture("genesis_prague.json"))
    genesis = chain.genesis
    assert "0x" + genesis.hash.hex() == expected["hash"]
    assert "0x" + genesis.state_root.hex() == expected["state_root"]
    assert (
        genesis.gas_limit == expected["gas_limit"]
        and "0x" + genesis.requests_hash.hex() == expected["requests_hash"]
    )
    last = chain.state_at(genesis).get_balance(hexb(expected["last_account"]))
    assert last == int(expected["last_balance"], 16)


def test_besu_docs_qbft_genesis_is_read_as_besu_reads_it(tmp_path):
    doc = fixture("besu_docs_qbft_genesis.json")
    with pytest.raises(GenesisError, match="londonBlock"):
        Genesis.from_json(doc)  # a Berlin chain: Hubao does not run it, and says so
    doc["config"].update(PRAGUE)
    genesis = Genesis.from_json(doc)
    assert genesis.chain_id == 1337  # spelled "chainid"
    assert genesis.difficulty == 1 and genesis.mix_hash == BFT_MIX_HASH and genesis.nonce == 0
    validators = ExtraData.decode(genesis.extra_data).validators
    assert ["0x" + v.hex() for v in validators] == VECTORS["docs_genesis"]["validators"]
    assert QbftConfig.from_genesis(doc).block_period == 5 and QbftConfig.from_genesis(doc).min_spacing == 5
    chain = chain_of(tmp_path, doc)
    assert chain.genesis.hash == besu_genesis_hash(doc, chain.genesis.state_root)


def test_besu_acceptance_qbft_genesis(tmp_path):
    doc = fixture("acceptance_qbft.json")
    doc["extraData"] = "0x" + genesis_extra_data([b"\x11" * 20]).hex()  # what the DSL fills in
    with pytest.raises(GenesisError, match="londonBlock"):
        Genesis.from_json(doc)
    doc["config"].update(PRAGUE)
    with pytest.raises(QbftConfigError, match="blockreward"):
        QbftConfig.from_genesis(doc)  # Hubao pays no block reward: refused, not ignored
    genesis = Genesis.from_json(doc)
    assert genesis.chain_id == 4 and genesis.timestamp == 0x58EE40BA and genesis.gas_limit == 0x47B760
    decimal = genesis.alloc[hexb("627306090abaB3A6e1400e9345bC60c78a8BEf57")]["balance"]
    assert decimal == 90000000000000000000000  # a decimal balance; privateKey and comment ignored
    chain = chain_of(tmp_path, doc)
    assert chain.genesis.hash == besu_genesis_hash(doc, chain.genesis.state_root)


def test_besu_spellings_and_number_formats():
    doc = {
        "config": {"chainID": 77, **PRAGUE, "qbft": {"blockperiodseconds": 2}},
        "nonce": "42",  # hexadecimal without 0x
        "gasLimit": 30_000_000,  # a JSON number
        "Difficulty": "0x1",
        "alloc": {
            "0x00000000000000000000000000000000000000aa": {
                "balance": "0x10",
                "nonce": "10",  # hexadecimal: 16
                "storage": {"01": "0x02"},  # a key without 0x
            }
        },
    }
    genesis = Genesis.from_json(doc)
    assert genesis.chain_id == 77 and genesis.nonce == 0x42 and genesis.gas_limit == 30_000_000
    account = genesis.alloc[b"\0" * 19 + b"\xaa"]
    assert account == {"balance": 16, "nonce": 16, "code": b"", "storage": {1: 2}}
    for variant in ({"chainId": 5}, {"chainid": "5"}):
        assert Genesis.from_json({**doc, "config": {**PRAGUE, **variant}}).chain_id == 5


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"londonBlock": 5}, "londonBlock = 5"),
        ({"pragueTime": None}, "pragueTime is missing"),
        ({"pragueTime": 10**12}, "after the genesis timestamp"),
        ({"osakaTime": 0}, "osakatime"),
        ({"zeroBaseFee": True}, "zerobasefee"),
        ({"chainId": "0x10"}, "decimal"),
    ],
)
def test_fork_schedules_hubao_does_not_run_are_refused(change, words):
    doc = {"config": copy.deepcopy(PRAGUE), "gasLimit": "0x1c9c380", "difficulty": "0x1"}
    for key, value in change.items():
        if value is None:
            doc["config"].pop(key)
        else:
            doc["config"][key] = value
    with pytest.raises(GenesisError, match="(?i)" + words):
        Genesis.from_json(doc)


def test_qbft_keys_besu_writes_and_the_old_spellings():
    def config(**qbft):
        return QbftConfig.from_genesis({"config": {"qbft": qbft}})

    sub_second = config(blockperiodseconds=1, xblockperiodmilliseconds=250, xemptyblockperiodseconds=3)
    assert (
        sub_second.block_period == 0.25 and sub_second.min_spacing == 1 and sub_second.empty_block_period == 3
    )
    old = config(blockperiodseconds=0.25, emptyblockperiodseconds=2)
    assert old.block_period == 0.25 and old.empty_block_period == 2
    assert config(blockperiodseconds=2).min_spacing == 2
    for bad in ({"blockperiodseconds": 0}, {"requesttimeoutseconds": "4"}, {"epochlength": 0}):
        with pytest.raises(QbftConfigError):
            config(**bad)
    with pytest.raises(QbftConfigError, match="no qbft section"):
        QbftConfig.from_genesis({"config": {"clique": {}}})


def test_net_init_genesis_is_the_block_0_besu_computes(tmp_path):
    from consortium.network.genesis import GenesisSpec, QbftSettings, build_genesis

    spec = GenesisSpec(
        chain_id=4242, validators=["0x" + "11" * 20, "0x" + "22" * 20], nodes=[], admins=["0x" + "33" * 20],
        funded={"0x" + "44" * 20: 10**18}, qbft=QbftSettings(blockperiodseconds=0.5),
    )  # fmt: skip
    doc = build_genesis(spec, "0x6000")
    assert doc["config"]["qbft"]["xblockperiodmilliseconds"] == 500
    assert doc["config"]["qbft"]["blockperiodseconds"] == 1  # Besu's positive integer
    chain = chain_of(tmp_path, doc)
    assert chain.genesis.difficulty == 1 and chain.genesis.mix_hash == BFT_MIX_HASH
    assert chain.genesis.hash == besu_genesis_hash(doc, chain.genesis.state_root)
