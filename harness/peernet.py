"""What the p2p, consensus and evidence attacks share: a small consortium of real node processes,
and the way in an attacker has (an allowlisted node's identity, held by the test, on real sockets).

    net = start_network(root, members=1, configure=lambda name, toml: ...)   # net init + edits + up
    stop_as_attacker(net, "member-0"); peer = attacker(net, "member-0", dial="validator-0")

The node whose identity the test takes is stopped first, so the test's TlsPeerNetwork is the only
holder of its node key and pinned certificate: the strongest position a stranger can reach is an
organisation's node turned hostile (or a removed one whose certificate is still pinned).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path

import tomli_w

from consortium.network.config import load_config
from consortium.network.layout import free_base_port
from consortium.network.processes import pid_of
from harness.network import Network
from harness.processes import hubao
from node.p2p.transport import P2PConfig, TlsPeerNetwork  # the transport's own names, as before the split


def start_network(
    root: Path, members: int = 1, configure: Callable[[str, dict], None] | None = None, users: int = 4,
    block_period: float = 0.5, extra: tuple[str, ...] = (),
) -> Network:  # fmt: skip
    """4 validators and `members` member nodes, every node dialling the others directly;
    `configure(name, node_toml)` may edit each node.toml before the nodes start; `extra`: more
    `hubao net init` options (scripts/soak_hostile.py: the simulator's movable clock)."""
    init = hubao(
        "net", "init", "--validators", "4", "--members", str(members), "--dir", str(root),
        "--base-port", str(free_base_port(4 + members)), "--block-period", str(block_period),
        "--empty-block-period", "1", "--users", str(users), *extra,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    for path in sorted(root.glob("*/node.toml")):
        if configure is not None:
            doc = tomllib.loads(path.read_text())
            configure(path.parent.name, doc)
            path.write_text(tomli_w.dumps(doc, multiline_strings=True))
    up = hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90")
    net = Network(root)
    if up.returncode != 0:
        net.down()
        raise AssertionError(up.stderr + (root / "validator-0" / "node.log").read_text()[-3000:])
    return net


def pid(net: Network, name: str) -> int:
    found = pid_of(net.root / name)
    assert found, f"{name} is not running"
    return found


def p2p_address(net: Network, name: str) -> str:
    entry = net.by_name[name]
    return f"{entry.host}:{entry.p2p_port}"


def attacker(net: Network, name: str, dial: str) -> TlsPeerNetwork:
    """A network speaking with `name`'s node key and pinned certificate (stop `name` first),
    dialling only node `dial`."""
    config = load_config(net.root / name / "node.toml")
    chain_id = json.loads((net.root / "genesis.json").read_text())["config"]["chainId"]
    p2p = P2PConfig(
        "127.0.0.1", 0, [p2p_address(net, dial)], config.trusted, config.tls_cert, config.tls_key, chain_id,
        key_password=config.password(),
    )  # fmt: skip
    return TlsPeerNetwork(p2p, config.secret(), lambda _: True)


def log_lines(net: Network, name: str, *words: str) -> list[str]:
    """Lines of a node's log holding every one of `words`."""
    text = (net.root / name / "node.log").read_text(errors="replace")
    return [line for line in text.splitlines() if all(w in line for w in words)]
