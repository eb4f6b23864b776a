"""What must hold after every scenario, whatever its perturbations were; written once, checked by the
runner on every node of the network:

  progress   once the perturbations end, every node gets new blocks again
  one chain  every node has the same block at every height (no fork, nothing final ever replaced)
  sealed     every block carries a quorum of distinct, valid commit seals of its validators
  receipts   every transaction a node acknowledged is committed, in the same block on every node
"""

from __future__ import annotations

from node.qbft.extradata import ExtraData, block_hash, seal_digest
from node.qbft.keys import recover
from node.qbft.validators import quorum
from node.vm import HeaderClass
from tests.e2e.network import Network


class Invariants:
    """The checks, with what earlier checks established (so a shared network is not re-verified)."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.sealed: set[str] = set()  # hashes of blocks whose seals were verified
        self.acknowledged: list[str] = []  # every transaction hash a node returned, in order
        self.committed: dict[str, str] = {}  # tx hash -> block hash, once seen

    def check(self, timeout: float = 90.0) -> int:
        """All four, in order; returns the height up to which every node agrees."""
        self.progress(timeout)
        low = self.one_chain()
        self.receipts(timeout)
        return low

    def progress(self, timeout: float) -> None:
        net = self.net
        net.wait_height(net.top(net.names()) + 2, net.names(), timeout)

    def one_chain(self) -> int:
        net = self.net
        names = net.names()
        low = min(net.height(n) for n in names)
        calls = [("eth_getBlockByNumber", [hex(h), False]) for h in range(low + 1)]
        chains = {n: net.batch(n, calls) for n in names}
        for height in range(low + 1):
            hashes = {n: chains[n][height]["hash"] for n in names}
            assert len(set(hashes.values())) == 1, f"two blocks at height {height}: {hashes}"
        for block in chains[names[0]][1:]:
            if block["hash"] not in self.sealed:
                assert_sealed(block)
                self.sealed.add(block["hash"])
        return low

    def receipts(self, timeout: float) -> None:
        """Every acknowledged transaction has a receipt on every node, in the same block."""
        net = self.net
        pending = [h for h in self.acknowledged if h not in self.committed]
        first = net.names()[0]
        for tx_hash in pending:
            self.committed[tx_hash] = net.receipt(first, tx_hash, timeout)["blockHash"]
        calls = [("eth_getTransactionReceipt", [h]) for h in self.committed]
        for name in net.names():
            for (tx_hash, block), got in zip(self.committed.items(), net.batch(name, calls), strict=True):
                assert got is not None, f"{name} lost the receipt of {tx_hash}"
                assert got["blockHash"] == block, f"{name} has {tx_hash} in another block"


def assert_sealed(block: dict) -> None:
    """A quorum of distinct seals, each recovering to a validator listed for this block."""
    number = int(block["number"], 16)
    extra = ExtraData.decode(bytes.fromhex(block["extraData"][2:]))
    validators = {bytes(v) for v in extra.validators}
    authors = [recover(seal_digest_of(block), s) for s in extra.seals]
    assert len(set(authors)) == len(authors), f"block {number}: duplicate seals"
    assert set(authors) <= validators, f"block {number}: sealed by a non-validator"
    assert len(authors) >= quorum(len(validators)), f"block {number}: {len(authors)} seals"


FIELDS = {  # py-evm header field <- JSON-RPC block field
    "parent_hash": "parentHash", "uncles_hash": "sha3Uncles", "coinbase": "miner", "state_root": "stateRoot",
    "transaction_root": "transactionsRoot", "receipt_root": "receiptsRoot", "bloom": "logsBloom",
    "difficulty": "difficulty", "block_number": "number", "gas_limit": "gasLimit", "gas_used": "gasUsed",
    "timestamp": "timestamp", "extra_data": "extraData", "mix_hash": "mixHash", "nonce": "nonce",
    "base_fee_per_gas": "baseFeePerGas", "withdrawals_root": "withdrawalsRoot",
    "blob_gas_used": "blobGasUsed", "excess_blob_gas": "excessBlobGas",
    "parent_beacon_block_root": "parentBeaconBlockRoot", "requests_hash": "requestsHash",
}  # fmt: skip
INTS = {"bloom", "difficulty", "block_number", "gas_limit", "gas_used", "timestamp", "base_fee_per_gas",
        "blob_gas_used", "excess_blob_gas"}  # fmt: skip


def seal_digest_of(block: dict) -> bytes:
    """Rebuild the header from its JSON-RPC fields (checked against the block hash); its seal digest."""
    fields = {
        name: int(block[key], 16) if name in INTS else bytes.fromhex(block[key][2:])
        for name, key in FIELDS.items()
    }
    header = HeaderClass(**fields)
    assert "0x" + block_hash(header).hex() == block["hash"], f"block {block['number']}: header mismatch"
    return seal_digest(header)
