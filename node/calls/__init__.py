"""Message calls off the event loop: eth_call, eth_estimateGas, eth_createAccessList,
eth_simulateV1 and the pending block, executed by a call worker over a snapshot of its own (in a
node process: a child process over the node's LMDB files; in process: a thread).

    worker.py     where calls run (CallWorker, the thread worker), the limits (RPCGasCap, RPCEVMTimeout)
    process.py    the worker process, the node's side: start, ask, bound, replace, stop
    child.py      the worker process itself: the read-only store, the engine, the request loop
    snapshot.py   one LMDB read transaction and its own header cache, for one worker
    message.py    geth's TransactionArgs as a py-evm message: defaults, fees, refusals in geth's words
    overrides.py  geth's state and block overrides, applied to a py-evm state and header
    context.py    the state a call runs on (a child of the block), deadline checks, one execution
    engine.py     call, gas estimation and access lists
    simulate.py   eth_simulateV1's blocks of calls
    pending.py    the pending block: the pool's transactions on top of head, never committed
    service.py    what the RPC layer awaits (ChainAPI.calls)
"""
