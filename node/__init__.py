"""The Hubao node: durable py-evm chain, transaction pool, block production, JSON-RPC, QBFT."""
