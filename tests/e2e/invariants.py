"""What must hold after every scenario, whatever its perturbations were; written once, checked by the
runner on every node of the network:

  progress   once the perturbations end, every node gets new blocks again
  one chain  every node has the same block at every height (no fork, nothing final ever replaced)
  sealed     every block carries a quorum of distinct, valid commit seals of its validators
  receipts   every transaction a node acknowledged is committed, in the same block on every node
"""

from __future__ import annotations

from harness.network import Network


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
        return self.net.assert_one_chain(sealed=self.sealed)

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
