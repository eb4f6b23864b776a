"""Node-to-node networking: `abc` is the interface, `transport` the mutual-TLS TCP implementation
(`TlsPeerNetwork`; `config` its settings, `framing` the wire, `handshake` HELLO/AUTH and the
pending-handshake bounds, `links` one authenticated connection), `gossip` and `seen` the delivery
contract both transports share, `memory` an in-process hub for unit tests."""
