"""Node-to-node networking: `abc` is the interface, `transport` the mutual-TLS TCP implementation
(`config` its settings, `framing` the wire, `handshake` HELLO/AUTH and the pending-handshake
bounds, `links` one authenticated connection), `gossip` and `seen` the delivery contract both
transports share, `memory` an in-process hub for unit tests. Build the real one with `create_network`."""

from __future__ import annotations

from node.p2p.abc import PeerNetworkAPI


def create_network(config, node_key: bytes, is_node_allowed) -> PeerNetworkAPI:
    """The mutual-TLS network for one node (`config` is a `node.p2p.config.P2PConfig`)."""
    from node.p2p.transport import TlsPeerNetwork

    return TlsPeerNetwork(config, node_key, is_node_allowed)
