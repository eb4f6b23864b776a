"""The client library knows the consortium clock's address without importing node/ (it reaches
nodes only over JSON-RPC): both sides must name the same genesis account."""

from __future__ import annotations

from consortium.client.clock import CLOCK_ADDRESS as CLIENT_CLOCK
from node.chainclock import CLOCK_ADDRESS as NODE_CLOCK


def test_client_and_node_name_the_same_clock_contract():
    assert CLIENT_CLOCK.lower() == NODE_CLOCK.lower()
