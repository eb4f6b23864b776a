"""Message calls off the event loop: eth_call, eth_estimateGas, eth_createAccessList,
eth_simulateV1 and the pending block, executed on a worker thread over a snapshot of its own.

    snapshot.py   one LMDB read transaction and its own header cache, for one thread
    worker.py     the thread, the limits (geth's RPCGasCap and RPCEVMTimeout), when snapshots renew
    message.py    geth's TransactionArgs as a py-evm message: defaults, fees, refusals in geth's words
    overrides.py  geth's state and block overrides, applied to a py-evm state and header
    context.py    the state a call runs on (a child of the block), deadline checks, one execution
    engine.py     call, gas estimation and access lists
    simulate.py   eth_simulateV1's blocks of calls
    pending.py    the pending block: the pool's transactions on top of head, never committed
"""
