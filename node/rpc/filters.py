"""Log queries over the log index, and the polling filters of eth_newFilter & co."""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from node.abc import ChainAPI, LogFiltersAPI
from node.errors import LIMIT_EXCEEDED, SERVER_ERROR, RpcError
from node.limits import NodeLimits
from node.rpc import blocks, params
from node.rpc.format import log_json

log = logging.getLogger("node.rpc.filters")

MAX_LOG_RANGE = 100_000


@dataclass
class LogCriteria:
    addresses: list[bytes] = field(default_factory=list)
    topics: list[list[int] | None] = field(default_factory=list)  # per position: any of, or None
    from_block: Any = "latest"
    to_block: Any = "latest"
    block_hash: bytes | None = None

    @classmethod
    def parse(cls, obj: Any) -> LogCriteria:
        if not isinstance(obj, dict):
            raise params.bad("invalid argument 0: expected a filter object")
        addr = obj.get("address")
        addresses = []
        if isinstance(addr, list):
            addresses = [params.address(a, "address") for a in addr]
        elif addr is not None:
            addresses = [params.address(addr, "address")]
        topics: list[list[int] | None] = []
        raw_topics = obj.get("topics") or []
        if not isinstance(raw_topics, list) or len(raw_topics) > 4:
            raise params.bad("invalid argument 0: topics must be a list of at most 4 entries")
        for entry in raw_topics:
            if entry is None:
                topics.append(None)
            elif isinstance(entry, list):
                topics.append([int.from_bytes(params.hash32(t, "topic"), "big") for t in entry] or None)
            else:
                topics.append([int.from_bytes(params.hash32(entry, "topic"), "big")])
        crit = cls(addresses=addresses, topics=topics)
        if obj.get("blockHash") is not None:
            if obj.get("fromBlock") is not None or obj.get("toBlock") is not None:
                raise params.bad("invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock")
            crit.block_hash = params.hash32(obj["blockHash"], "blockHash")
        else:
            crit.from_block = params.block_id(obj.get("fromBlock", "latest"))
            crit.to_block = params.block_id(obj.get("toBlock", "latest"))
        return crit

    def matches(self, log) -> bool:
        if self.addresses and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):  # geth: more positions than the log has topics
            return False
        for position, wanted in enumerate(self.topics):
            if wanted is None:
                continue
            if position >= len(log.topics) or log.topics[position] not in wanted:
                return False
        return True


def resolve_range(chain: ChainAPI, crit: LogCriteria) -> tuple[int, int]:
    """eth_getLogs' [from, to] with geth's refusals (-32602): pending logs, from after to. A range
    past the head answers up to the head (geth refuses it; clients poll ahead of the head)."""
    if "pending" in (crit.from_block, crit.to_block):
        raise params.bad("pending logs are not supported")
    lo, hi = blocks.number(chain, crit.from_block), blocks.number(chain, crit.to_block)
    if lo > hi:
        raise params.bad("invalid block range params")
    return lo, hi


def block_logs(crit: LogCriteria, block, receipts) -> list[dict]:
    out = []
    header = block.header
    log_index = 0
    for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for lg in receipt.logs:
            if crit.matches(lg):
                out.append(log_json(lg, header, tx.hash, tx_index, log_index))
            log_index += 1
    return out


def get_logs(chain: ChainAPI, crit: LogCriteria, lo: int | None = None, hi: int | None = None) -> list[dict]:
    """Logs matching `crit`, visiting only blocks the log index names."""
    if crit.block_hash is not None:
        block = chain.get_block_by_hash(crit.block_hash)
        if block is None:
            raise RpcError(SERVER_ERROR, "unknown block")
        return block_logs(crit, block, chain.get_receipts(crit.block_hash))
    if lo is None or hi is None:
        lo, hi = resolve_range(chain, crit)
    hi = min(hi, chain.head.block_number)
    if lo > hi:
        return []
    if hi - lo > MAX_LOG_RANGE:
        raise RpcError(-32005, f"query exceeds max block range {MAX_LOG_RANGE}")
    candidates: set[int] | None = None
    if crit.addresses:
        candidates = set()
        for addr in crit.addresses:
            candidates.update(chain.blocks_with_logs(b"a" + addr, lo, hi))
    for wanted in crit.topics:
        if wanted is None:
            continue
        found = set()
        for topic in wanted:
            found.update(chain.blocks_with_logs(b"t" + topic.to_bytes(32, "big"), lo, hi))
        candidates = found if candidates is None else candidates & found
    numbers = sorted(candidates) if candidates is not None else range(lo, hi + 1)
    out: list[dict] = []
    for n in numbers:
        header = chain.get_header_by_number(n)
        if header is None or header.bloom == 0:
            continue
        block = chain.get_block_by_hash(header.hash)
        out.extend(block_logs(crit, block, chain.get_receipts(header.hash)))
    return out


@dataclass
class Filter:
    kind: str  # "logs" | "blocks" | "pending"
    criteria: LogCriteria | None = None
    next_block: int = 0  # logs and blocks: the first block not reported yet
    next_seq: int = 0  # pending: the first position of the pending ring not reported yet
    touched: float = field(default_factory=time.monotonic)


class FilterManager(LogFiltersAPI):
    """The polling filters, bounded (docs/nodes.md#limits): at most `max_filters` in all, each
    dropped after `filter_timeout` seconds without a poll by the node's housekeeping timer
    (`expire`), and each costs a few numbers only: block filters read the chain from where they
    stopped, pending filters one shared ring of the latest `PENDING_RING` transaction hashes."""

    PENDING_RING = 4096
    MAX_BLOCKS_PER_POLL = 10_000

    def __init__(self, chain: ChainAPI, limits: NodeLimits | None = None) -> None:
        self.chain = chain
        limits = limits or NodeLimits()
        self.timeout = limits.filter_timeout
        self.max_filters = limits.max_filters
        self.filters: dict[str, Filter] = {}
        self._ids = itertools.count(1)
        self._pending: deque[str] = deque(maxlen=self.PENDING_RING)
        self._pending_seq = 0  # ring position of the next hash
        self._full_logged = False

    def _new(self, flt: Filter) -> str:
        self.expire()
        if len(self.filters) >= self.max_filters:
            message = f"too many filters (limit {self.max_filters}): uninstall some, idle ones expire"
            if not self._full_logged:  # once until the count falls below the cap again
                self._full_logged = True
                log.warning("refused a new filter: %s after %gs", message, self.timeout)
            raise RpcError(LIMIT_EXCEEDED, message)
        self._full_logged = False
        fid = hex(next(self._ids) + (id(self) & 0xFFFF_0000))
        self.filters[fid] = flt
        return fid

    def expire(self, now: float | None = None) -> int:
        """Drop filters not polled for `timeout` seconds; returns how many (the timer calls it)."""
        now = time.monotonic() if now is None else now
        stale = [f for f, flt in self.filters.items() if now - flt.touched > self.timeout]
        for fid in stale:
            del self.filters[fid]
        return len(stale)

    def new_log_filter(self, crit: LogCriteria) -> str:
        start = self.chain.head.block_number + 1
        if crit.from_block not in ("latest", "pending") and crit.block_hash is None:
            start = blocks.number(self.chain, crit.from_block)
        return self._new(Filter("logs", crit, next_block=start))

    def new_block_filter(self) -> str:
        return self._new(Filter("blocks", next_block=self.chain.head.block_number + 1))

    def new_pending_filter(self) -> str:
        return self._new(Filter("pending", next_seq=self._pending_seq))

    def get(self, fid: str) -> Filter:
        flt = self.filters.get(fid)
        if flt is None:
            raise RpcError(SERVER_ERROR, "filter not found")
        flt.touched = time.monotonic()
        return flt

    def changes(self, fid: str) -> list:
        flt = self.get(fid)
        if flt.kind == "logs":
            head = self.chain.head.block_number
            hi = head
            if flt.criteria.to_block not in ("latest", "pending", "safe", "finalized"):
                hi = min(head, blocks.number(self.chain, flt.criteria.to_block))
            logs = get_logs(self.chain, flt.criteria, flt.next_block, hi) if flt.next_block <= hi else []
            flt.next_block = max(flt.next_block, head + 1)
            return logs
        if flt.kind == "blocks":
            return self._block_changes(flt)
        return self._pending_changes(flt)

    def _block_changes(self, flt: Filter) -> list[str]:
        head = self.chain.head.block_number
        first = min(flt.next_block, head + 1)  # a dev rewind moved the head back
        last = min(head, first + self.MAX_BLOCKS_PER_POLL - 1)
        out = []
        for number in range(first, last + 1):
            header = self.chain.get_header_by_number(number)
            out.append("0x" + header.hash.hex())
        flt.next_block = last + 1
        return out

    def _pending_changes(self, flt: Filter) -> list[str]:
        oldest = self._pending_seq - len(self._pending)  # what fell out of the ring is lost
        start = max(flt.next_seq, oldest)
        flt.next_seq = self._pending_seq
        return list(itertools.islice(self._pending, start - oldest, None))

    def all_logs(self, fid: str) -> list:
        flt = self.get(fid)
        if flt.kind != "logs":
            raise RpcError(SERVER_ERROR, "filter not found")
        return get_logs(self.chain, flt.criteria)

    def uninstall(self, fid: str) -> bool:
        return self.filters.pop(fid, None) is not None

    def on_pending(self, tx) -> None:
        self._pending.append("0x" + tx.hash.hex())
        self._pending_seq += 1
