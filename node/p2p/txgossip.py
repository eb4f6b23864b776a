"""Transaction gossip: every transaction a pool admits goes to all peers once, and transactions from
peers go through the same pool checks as JSON-RPC (signature, nonce, funds, account allowlist, and
the pool's bounds: size, gas cap, slots). A refusal by a bound is logged once per peer and reason
by the pool; only bytes that are not a transaction at all count against the peer."""

from __future__ import annotations

import logging

from node.abc import TxPoolAPI
from node.errors import TxRejected
from node.p2p.abc import TOPIC_TX, PeerNetworkAPI

log = logging.getLogger("node.p2p.txgossip")


class TxGossip:
    def __init__(self, network: PeerNetworkAPI, txpool: TxPoolAPI) -> None:
        self.network = network
        self.txpool = txpool
        self.received = 0
        self.refused = 0
        txpool.on_new_tx.append(self._announce)
        network.subscribe(TOPIC_TX, self._on_tx)

    def _announce(self, tx) -> None:
        self.network.broadcast(TOPIC_TX, tx.encode())

    async def _on_tx(self, peer_id: str, payload: bytes) -> None:
        self.received += 1
        try:
            self.txpool.add(payload, origin=f"peer {peer_id}")
        except TxRejected as exc:
            # Refusals are normal (already known, nonce raced ahead, allowlist changed at a
            # different head, a peer configured with other limits); only bytes that are not a
            # transaction at all mark the peer as bad.
            self.refused += 1
            if str(exc).startswith(("rlp:", "typed transaction too short")):
                self.network.punish(peer_id, f"gossiped a malformed transaction: {exc}")
            else:
                log.debug("gossiped tx from %s refused: %s", peer_id, exc)
