"""Everything the report needs, read from the chain alone: every event the suite emitted and every
block's transactions and gas, from the deployment to the run's last block. Nothing the driver
remembers is used, so the report is evidence about the chain, not about the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field

from web3 import Web3

from consortium.client import Deployment, Suite
from consortium.client.clock import CLOCK_ADDRESS
from consortium.client.reads import block_receipts, blocks, rpc_batch

LOG_CHUNK = 2_000  # blocks per eth_getLogs


@dataclass
class Event:
    name: str
    args: dict
    block: int
    order: tuple[int, int]
    ts: int = 0


@dataclass
class Tx:
    """One of the plan's transactions: what it called and the gas it used."""

    block: int
    index: int
    function: str  # "contract.function", e.g. "membership.enrollBatch"
    gas: int


@dataclass
class Chain:
    """Everything read from the chain for one deployment."""

    deployment: Deployment
    events: list[Event]
    blocks: dict[int, dict]  # number -> {ts, txs, gas}
    first_block: int  # the plan's transactions are counted after this block (deployment is not)
    last_block: int
    txs: list[Tx] = field(default_factory=list)  # the plan's, after first_block
    by_name: dict[str, list[Event]] = field(default_factory=dict)

    def __post_init__(self):
        for e in self.events:
            self.by_name.setdefault(e.name, []).append(e)

    def of(self, name: str) -> list[Event]:
        return self.by_name.get(name, [])


def read_chain(
    w3: Web3, deployment: Deployment, to_block: int | None = None, deployed_by: int | None = None
) -> Chain:
    """The suite's events and the blocks from its deployment to `to_block`; `deployed_by`: the
    block by which the deployment had landed (its transactions spread over a number of blocks that
    depends on the chain's speed), by default the deployment's first block."""
    last = to_block if to_block is not None else w3.eth.block_number
    first = deployment.block
    events = read_events(w3, Suite(w3, deployment), first, last)
    blocks = read_blocks(w3, first, last)
    for number, gas in clock_moves(w3, first, last):  # the simulator's scaffolding, not the plan's cost
        blocks[number]["txs"] -= 1
        blocks[number]["gas"] -= gas
    for e in events:
        e.ts = blocks[e.block]["ts"]
    events.sort(key=lambda e: (e.block, *e.order))
    counted_from = first if deployed_by is None else deployed_by
    txs = read_txs(w3, Suite(w3, deployment), [n for n, b in blocks.items() if n > counted_from and b["txs"]])
    return Chain(deployment, events, blocks, counted_from, last, txs)


def read_txs(w3: Web3, suite: Suite, numbers: list[int]) -> list[Tx]:
    """The suite's transactions in these blocks, named by the function they called, with the gas
    each used (the clock's moves and anything else not to the suite are left out)."""
    names = suite.function_names()
    out = []
    for number, body, got in zip(
        numbers, blocks(w3, numbers, full=True), block_receipts(w3, numbers), strict=True
    ):
        for i, (tx, receipt) in enumerate(zip(body["transactions"], got, strict=True)):
            to = tx.get("to")
            name = names.get((Web3.to_checksum_address(to), bytes.fromhex(tx["input"][2:10]))) if to else None
            if name is not None:
                out.append(Tx(number, i, name, int(receipt["gasUsed"], 16)))
    return out


def read_events(w3: Web3, suite: Suite, first: int, last: int) -> list[Event]:
    decoders = suite.event_decoders()
    addresses = sorted({address for address, _ in decoders})
    events: list[Event] = []
    for lo in range(first, last + 1, LOG_CHUNK):
        hi = min(last, lo + LOG_CHUNK - 1)
        for log in w3.eth.get_logs({"fromBlock": lo, "toBlock": hi, "address": addresses}):
            decoder = decoders.get((Web3.to_checksum_address(log["address"]), bytes(log["topics"][0])))
            if decoder is None:
                continue
            decoded = decoder.process_log(log)
            order = (log["transactionIndex"], log["logIndex"])
            events.append(Event(decoded["event"], dict(decoded["args"]), log["blockNumber"], order))
    return events


def read_blocks(w3: Web3, first: int, last: int) -> dict[int, dict]:
    out = {}
    for b in blocks(w3, range(first, last + 1)):
        out[int(b["number"], 16)] = {
            "ts": int(b["timestamp"], 16),
            "txs": len(b["transactions"]),
            "gas": int(b["gasUsed"], 16),
        }
    return out


def clock_moves(w3: Web3, first: int, last: int) -> list[tuple[int, int]]:
    """(block, gas used) of each move of the consortium clock between the two blocks."""
    hashes = []
    for lo in range(first, last + 1, LOG_CHUNK):
        logs = w3.eth.get_logs(
            {"fromBlock": lo, "toBlock": min(last, lo + LOG_CHUNK - 1), "address": CLOCK_ADDRESS}
        )
        hashes += ["0x" + bytes(log["transactionHash"]).hex() for log in logs]
    receipts = [r["result"] for r in rpc_batch(w3, [("eth_getTransactionReceipt", [h]) for h in hashes])]
    return [(int(r["blockNumber"], 16), int(r["gasUsed"], 16)) for r in receipts]
