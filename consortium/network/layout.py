"""`hubao net init`: a whole test network on one machine, made by the same ceremony as a real one.

Each node is its own organisation: one `org init` per node folder, then `net genesis` over their
public files only, written into the same folders. What a real consortium would not have is
marked as test-network material: the password file beside each organisation's keystores (so
`net up` starts every node without a prompt; keys use light scrypt) and `accounts.json`.

DIR/
  network.json            index of nodes (name, role, node id, p2p and rpc addresses), organisations
  genesis.json            Besu-style QBFT genesis (also in every node folder)
  accounts.json           0600, TEST-NETWORK MATERIAL: deployer, operator, one plan staff account
                          per organisation, and user accounts, all funded and allowlisted at genesis,
                          for scripts/deploy.py and the simulator. No organisation's keys are in it.
  keys/deployer.key keys/operator.key   0600: the same two keys alone (`deploy.py --key-file`)
  validator-0/ ... member-0/   one organisation each (`hubao org init`):
    keystore/node/ keystore/admin/ tls.crt tls.key(0600) jwt.hex(0600) public.json
    password (0600, test network)   node.toml genesis.json   (from `net genesis`)

Each node's JSON-RPC listens on its host (127.0.0.1 unless `--host` names one per node) and
serves `TEST_NETWORK_API`: what the tools of a test network call (`net status`, the console,
the simulator's evidence uploads). On 127.0.0.1 that is loopback-only, so no JWT is needed; on
any other address the administrative namespaces answer only calls signed with the node's
jwt.hex (docs/nodes.md).
"""

from __future__ import annotations

import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from consortium.network.ceremony import GENESIS_INDEX, NetworkSpec, assemble, write_outputs
from consortium.network.config import PASSWORD_FILE
from consortium.network.genesis import DEFAULT_BALANCE, QbftSettings
from consortium.network.org import init_org
from consortium.network.pki import write_private

DEFAULT_CHAIN_ID = 8282
DEFAULT_BASE_PORT = 30300
RPC_OFFSET = 100
TEST_NETWORK_API = ("eth", "net", "web3", "hubao", "txpool", "admin", "qbft", "perm", "debug")
TEST_NETWORK_NOTE = (
    "TEST-NETWORK MATERIAL written by `hubao net init` for scripts and the simulator on one machine: "
    "the deployer, operator, plan staff (one account per organisation) and users, funded and "
    "allowlisted at genesis. A real consortium has no such file; each organisation's node and admin "
    "keys are only in its own folder."
)


@dataclass
class NodeEntry:
    name: str
    role: str
    node_id: str
    host: str  # where the other nodes reach it (p2p)
    p2p_port: int
    rpc_port: int
    rpc_host: str | None = None  # where its JSON-RPC listens (None: `host`, as older network.json)

    @property
    def folder(self) -> str:
        return self.name

    @property
    def rpc_url(self) -> str:
        return f"http://{self.rpc_host or self.host}:{self.rpc_port}"


def init_network(
    directory: str | Path,
    validators: int,
    members: int = 0,
    base_port: int = DEFAULT_BASE_PORT,
    hosts: list[str] | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    timescale: float = 1.0,
    users: int = 4,
    qbft: QbftSettings | None = None,
    force: bool = False,
    extra_funded: dict[str, int] | None = None,
    movable_clock: bool = False,
) -> list[NodeEntry]:
    """Write the network; `extra_funded` (address -> wei) are funded and allowlisted too (benchmarks).
    `movable_clock`: predeploy ConsortiumClock with the operator account as its timekeeper."""
    if validators < 1:
        raise ValueError("at least one validator")
    root = Path(directory)
    if (root / GENESIS_INDEX).exists() and not force:
        raise FileExistsError(f"{root} already holds a network (use --force to overwrite)")
    hosts = hosts or ["127.0.0.1"]
    count = validators + members
    names = [f"validator-{i}" for i in range(validators)] + [f"member-{i}" for i in range(members)]

    def organisation(i: int):
        folder = root / names[i]
        password = secrets.token_hex(16)
        write_private(folder / PASSWORD_FILE, password.encode() + b"\n")
        host = hosts[i] if len(hosts) > 1 else hosts[0]
        role = "validator" if i < validators else "member"
        return init_org(folder, names[i], host, base_port + i, base_port + RPC_OFFSET + i, role, password,
                        light=True, force=True, rpc_host=host)  # fmt: skip

    with ThreadPoolExecutor(max_workers=min(8, count)) as pool:  # scrypt and key generation release the GIL
        orgs = list(pool.map(organisation, range(count)))
    accounts = {"deployer": _account(), "operator": _account()}
    staff = [_account() for _ in orgs]
    users_list = [_account() for _ in range(users)]
    funded = {a["address"]: DEFAULT_BALANCE for a in [*accounts.values(), *staff, *users_list]}
    funded.update(extra_funded or {})
    spec = NetworkSpec(
        chain_id=chain_id,
        genesis_time=int(time.time()),
        qbft=qbft or QbftSettings(),
        timescale=timescale,
        accounts=funded,
        timekeeper=accounts["operator"]["address"] if movable_clock else None,
    )
    files = assemble(orgs, spec, rpc_api=TEST_NETWORK_API)
    write_outputs(root, files)
    genesis = json.loads(files["genesis.json"])
    book = {
        "note": TEST_NETWORK_NOTE,
        "chainId": chain_id,
        "allowlist": genesis["config"]["hubao"]["permissioning"]["contract"],
        **({"clock": genesis["config"]["hubao"]["clock"]["contract"]} if movable_clock else {}),
        **accounts,
        "staff": staff,
        "users": users_list,
    }
    write_private(root / "accounts.json", (json.dumps(book, indent=2) + "\n").encode())
    for role in ("deployer", "operator"):  # for `scripts/deploy.py --key-file` and operator tools
        write_private(root / "keys" / f"{role}.key", accounts[role]["privateKey"].encode() + b"\n")
    return load_network(root)


def _account() -> dict:
    account = Account.create()
    return {"address": account.address, "privateKey": "0x" + bytes(account.key).hex()}


def load_network(directory: str | Path) -> list[NodeEntry]:
    data = json.loads((Path(directory) / GENESIS_INDEX).read_text())
    return [NodeEntry(**n) for n in data["nodes"]]


def _ephemeral_low(default: int = 32768) -> int:
    """The first port the OS hands out for outgoing connections and port 0 (Linux: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def free_base_port(nodes: int, host: str = "127.0.0.1", low: int = 10000, high: int | None = None) -> int:
    """A base port whose p2p and JSON-RPC ranges are free on `host` right now (tests, benchmarks).

    The ranges lie below the OS's ephemeral ports: a port found free there can be taken a moment
    later by any outgoing connection or `bind(0)` on the machine (a test's node then fails to bind)."""
    import random
    import socket

    high = min(high or 65535, _ephemeral_low()) - RPC_OFFSET - nodes

    def free(port: int) -> bool:
        with socket.socket() as s:
            try:
                s.bind((host, port))
                return True
            except OSError:
                return False

    for _ in range(200):
        base = random.randrange(low, high)
        if all(free(base + i) and free(base + RPC_OFFSET + i) for i in range(nodes)):
            return base
    raise RuntimeError("no free port range")
