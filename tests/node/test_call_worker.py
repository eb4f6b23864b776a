"""The call worker behind `ChainAPI.calls`: a process of its own over the chain's LMDB files (the
default), or a thread (HUBAO_CALL_WORKER=thread); both give the same answers, and the process
follows the node's store as it grows. `hubao node run` starts the process once it serves, so the
first call does not wait for it (HUBAO_CALL_WORKER_START=lazy: the first call starts it)."""

from __future__ import annotations

import asyncio
import os
import time
import urllib.request

import pytest

from harness.polling import until
from harness.processes import DevNode, free_port, hubao, rpc
from node.calls.message import CallArgs
from node.calls.process import ProcessWorker
from node.calls.worker import WORKER_KIND, WORKER_START, ThreadWorker
from node.chain import Chain
from node.errors import RpcError
from node.genesis import dev_genesis
from node.storage import Store

GAS_LEFT = bytes.fromhex("5a60005260206000f3")  # returns the gas it was given
REVERTS = bytes.fromhex("60006000fd")  # PUSH1 0 PUSH1 0 REVERT
LOOP = bytes.fromhex("62" + (1 << 23).to_bytes(3, "big").hex() + "5b8015601157600190036004565b00")


def answers(chain: Chain) -> list:
    """call, estimate and access list of a few calls, errors as (code, message)."""

    async def run() -> list:
        env = chain.calls.env(chain.head)
        out = []
        for data, gas in ((GAS_LEFT, 100_000), (REVERTS, None), (LOOP, 1_000_000)):
            args = CallArgs(None, None, gas, data=data)
            outcome = await chain.calls.call(env, args)
            out.append((outcome.output, repr(outcome.error), outcome.gas_used, outcome.max_used))
            for method in (chain.calls.estimate, chain.calls.access_list):
                try:
                    out.append(await method(env, args))
                except RpcError as exc:
                    out.append((exc.code, exc.message, exc.data))
        return out

    return asyncio.run(run())


def in_process(chain: Chain) -> Chain:
    chain.calls.run_in_process()
    return chain


@pytest.mark.process
def test_the_process_and_the_thread_worker_answer_alike(tmp_path):
    genesis = dev_genesis(3, timestamp=1_700_000_000)
    chain = in_process(Chain(Store(tmp_path / "p"), genesis))
    try:
        assert isinstance(chain.calls.worker, ProcessWorker)
        by_process = answers(chain)
    finally:
        chain.close()
        chain.store.close()
    chain = Chain(Store(tmp_path / "t"), genesis)  # an in-process chain's default
    try:
        assert isinstance(chain.calls.worker, ThreadWorker)
        assert answers(chain) == by_process
    finally:
        chain.close()
        chain.store.close()


@pytest.mark.process
def test_the_worker_process_follows_a_store_that_grew(tmp_path):
    """The node doubles its LMDB map when a block does not fit; the worker's own map was sized
    when it started, so its next snapshot adopts the new size instead of failing."""
    chain = in_process(
        Chain(Store(tmp_path / "c", map_size=1 << 20), dev_genesis(3, timestamp=1_700_000_000))
    )
    try:
        first = answers(chain)
        chain.store.commit({"state": {b"\x01" * 32: b"\x00" * (4 << 20)}})  # the map grows past 4 MiB
        block, receipts = chain.build_block([], chain.head.timestamp + 1)
        chain.commit_block(block, receipts)  # a new head: the worker renews its snapshot
        assert chain.store.env.info()["map_size"] > 4 << 20
        again = answers(chain)
        assert again[0] == first[0] and len(again) == len(first)
    finally:
        chain.close()
        chain.store.close()


@pytest.mark.process
def test_close_ends_the_worker_process(tmp_path):
    chain = in_process(Chain(Store(tmp_path / "c"), dev_genesis(3)))
    answers(chain)
    worker = chain.calls.worker
    pid = worker.pid
    chain.close()
    chain.store.close()
    assert worker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_thread_is_the_switch_back(tmp_path, monkeypatch):
    """HUBAO_CALL_WORKER=thread: a node process keeps its calls on a thread (the fallback)."""
    monkeypatch.setenv(WORKER_KIND, "thread")
    chain = in_process(Chain(Store(tmp_path / "c"), dev_genesis(3)))
    try:
        assert isinstance(chain.calls.worker, ThreadWorker)
    finally:
        chain.close()
        chain.store.close()


def worker_pid(node: DevNode) -> int:
    """The node's `hubao_call_worker_pid` metric (0: no worker process running)."""
    text = urllib.request.urlopen(node.url + "/metrics", timeout=10).read().decode()
    (value,) = [line.split()[1] for line in text.splitlines() if line.startswith("hubao_call_worker_pid ")]
    return int(float(value))


def is_worker_of(pid: int, node: DevNode) -> bool:
    """`pid` is a call worker process (`python -m node.calls.child`) of the node's."""
    with open(f"/proc/{pid}/stat") as stat, open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        return parent == node.proc.pid and b"node.calls.child" in cmdline.read()


def first_call(node: DevNode) -> float:
    started = time.monotonic()
    assert int(rpc(node.url, "eth_call", {"data": "0x" + GAS_LEFT.hex(), "gas": "0x186a0"}, "latest"), 16) > 0
    return time.monotonic() - started


def test_a_node_process_starts_its_call_worker_once_it_serves(tmp_path, monkeypatch):
    """Side by side: a lazy node's first call waits for its worker to start (py-evm's import); a
    node at `hubao node run`'s default has its worker up before the first call, which that worker
    answers, in well under half the time."""
    monkeypatch.setenv(WORKER_START, "lazy")  # what the suite's nodes keep (harness/processes.py)
    with DevNode.start(tmp_path / "lazy") as lazy:
        assert worker_pid(lazy) == 0
        lazy_first = first_call(lazy)
        assert is_worker_of(worker_pid(lazy), lazy)
    monkeypatch.setenv(WORKER_START, "eager")  # hubao node run's default
    with DevNode.start(tmp_path / "eager") as node:
        pid = until(lambda: worker_pid(node), 60, "the call worker started before any call")
        assert is_worker_of(pid, node)
        eager_first = first_call(node)
        assert worker_pid(node) == pid  # the worker started before the call answered it
    assert eager_first < lazy_first / 2, (eager_first, lazy_first)


def test_an_unknown_start_mode_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKER_START, "sometimes")
    run = hubao("node", "run", "--dev", "--port", str(free_port()), "--datadir", str(tmp_path), timeout=60)
    assert run.returncode == 1 and "HUBAO_CALL_WORKER_START='sometimes': expected eager or lazy" in run.stderr
