"""`hubao node export` from a running 4-validator network and `hubao node import` into a fresh
node: the same head and state root; a block with a forged commit seal stops the import there."""

from __future__ import annotations

import io
import shutil

import pytest
import rlp

from harness.network import Network, NetworkSpec
from harness.processes import hubao
from node.archive import read_blocks
from node.chain import Chain
from node.genesis import Genesis
from node.qbft.extradata import ExtraData
from node.qbft.rules import QbftRules
from node.storage import Store
from node.vm import BlockClass

pytestmark = pytest.mark.timeout(240)

# a tiny counter: any call with calldata increments slot 0, a call without returns it
INIT = "601b80600b6000396000f3" + "3615600f57600054600101600055005b60005460005260206000f3"


def fresh_node(net: Network, like: str, folder) -> str:
    """A node folder with `like`'s config and genesis and an empty datadir."""
    folder.mkdir()
    for name in ("node.toml", "genesis.json"):
        shutil.copy(net.root / like / name, folder / name)
    return str(folder / "node.toml")


def head_of(folder) -> tuple[int, str, str]:
    genesis = Genesis.from_json(folder / "genesis.json")
    store = Store(str(folder / "data"))
    try:
        chain = Chain(store, genesis, rules=QbftRules())
        head = chain.head
        return head.block_number, "0x" + chain.block_hash(head).hex(), "0x" + head.state_root.hex()
    finally:
        store.close()


def test_export_then_import_reaches_the_same_head_and_state(tmp_path):
    net = Network.up(tmp_path / "net", NetworkSpec(members=0))
    try:
        deployer = net.accounts["deployer"]["privateKey"]
        receipt = net.receipt(
            "validator-1", net.send_tx("validator-1", deployer, None, data="0x" + INIT, gas=200_000)
        )
        net.wait_height(int(receipt["blockNumber"], 16) + 2)
        net.stop("validator-3")  # a quiet datadir to export from; the others go on
        chain_file = tmp_path / "chain.rlp"
        out = hubao(
            "node", "export", "--datadir", str(net.root / "validator-3" / "data"), "--out", str(chain_file)
        )
        assert out.returncode == 0, out.stderr
        blocks = list(read_blocks(io.BytesIO(chain_file.read_bytes())))
        top = len(blocks) - 1
        assert top >= 3 and f"exported {top + 1} blocks" in out.stdout
        expected = net.call("validator-0", "eth_getBlockByNumber", hex(top), False)

        config = fresh_node(net, "validator-3", tmp_path / "fresh")
        done = hubao("node", "import", "--config", config, str(chain_file))
        assert done.returncode == 0, done.stderr
        assert head_of(tmp_path / "fresh") == (top, expected["hash"], expected["stateRoot"])
        assert f"imported {top} blocks: head #{top} {expected['hash']}" in done.stdout

        # a forged commit seal in the last block: the import stops there, everything before stands
        last = rlp.decode(blocks[-1], sedes=BlockClass)
        extra = ExtraData.decode(last.header.extra_data)
        forged = extra.with_seals((extra.seals[0],) * len(extra.seals))
        blocks[-1] = rlp.encode(last.copy(header=last.header.copy(extra_data=forged.encode())))
        tampered = tmp_path / "tampered.rlp"
        tampered.write_bytes(b"".join(blocks))
        config = fresh_node(net, "validator-3", tmp_path / "second")
        refused = hubao("node", "import", "--config", config, str(tampered))
        assert refused.returncode == 1 and f"block #{top} refused" in refused.stderr
        assert "duplicate commit seals" in refused.stderr
        assert head_of(tmp_path / "second")[0] == top - 1
    finally:
        net.down()
