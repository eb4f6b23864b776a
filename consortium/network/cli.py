"""`hubao org init` (one organisation's keys, on its own machine), `hubao net genesis` (a network
from the organisations' public files), `hubao net init|up|status|down` (a test network on one
machine, made the same way, and its node processes) and `hubao net allowlist`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from consortium.cliutil import Output, fail_on, password_option, read_password
from consortium.network.genesis import QbftSettings
from consortium.network.org import CeremonyError
from consortium.wallet.keystore import KeystoreError

dir_option = click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),  # nodes run in their own folders
    help="Network folder.",
)


@click.group()
def org() -> None:
    """One organisation's part of a consortium: its keys and its public file."""


@org.command("init")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The organisation's folder (its secrets stay here).")  # fmt: skip
@click.option("--name", required=True, help="Short name: lower-case letters, digits, dashes (org-a).")
@click.option("--host", required=True, help="Host or address the other nodes reach this node at.")
@click.option("--p2p-port", type=click.IntRange(1, 65535), default=30300, show_default=True)
@click.option("--rpc-port", type=click.IntRange(1, 65535), default=30400, show_default=True)
@click.option("--rpc-host", default="127.0.0.1", show_default=True,
              help="Address the node's JSON-RPC listens on (this machine unless you open it).")  # fmt: skip
@click.option("--role", type=click.Choice(["validator", "member"]), default="validator", show_default=True)
@password_option
@click.option("--lightkdf", is_flag=True, help="Cheaper scrypt (as geth's --lightkdf): test keys only.")
@click.option("--force", is_flag=True, help="Replace the keys of an organisation already in DIR.")
@click.option("--json", "as_json", is_flag=True)
@fail_on(FileExistsError, CeremonyError, KeystoreError, OSError)
def org_init(directory, name, host, p2p_port, rpc_port, rpc_host, role, password_file, lightkdf, force,
             as_json):  # fmt: skip
    """Create the node key, the admin key (encrypted keystores), a self-signed TLS certificate and
    the public file to send to the coordinator. The node reads the password from DIR/password."""
    from consortium.network.org import PUBLIC_FILE, init_org

    password = read_password(password_file, confirm=True)
    public = init_org(directory, name, host, p2p_port, rpc_port, role, password, lightkdf, force, rpc_host)
    summary = {**public.statement(), "orgId": public.org_id, "public": str(directory / PUBLIC_FILE)}
    Output(as_json).result(
        summary,
        f"organisation {public.name}: node {public.node}, admin {public.admin}\n"
        f"TLS certificate {public.tls_fingerprint}\n"
        f"send {directory / PUBLIC_FILE} to the coordinator and read this id out to the other "
        f"organisations: {public.org_id}\n"
        f"before starting the node, put the password in {directory / 'password'} (chmod 600)",
    )


@org.command("trust")
@click.argument("public_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--config", "config_path", required=True, help="This node's node.toml.",
              type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@fail_on(CeremonyError, OSError)
def org_trust(public_file, config_path, as_json):
    """Pin the TLS certificate of an organisation that joined after genesis (its PUBLIC_FILE, once a
    majority voted its node onto the allowlist) and dial it; restart the node to use it."""
    from consortium.network.config import trust_peer
    from consortium.network.org import OrgPublic

    public = OrgPublic.load(public_file)
    trust_peer(config_path, public.node, public.certificate, public.p2p)
    Output(as_json).result(
        {**public.statement(), "orgId": public.org_id},
        f"{config_path}: pinned {public.name}'s certificate {public.tls_fingerprint} for node {public.node} "
        f"at {public.p2p} (organisation id {public.org_id}: compare it with theirs); restart the node",
    )


@click.group()
def net() -> None:
    """Create and run a consortium network (one process per node)."""


@net.command()
@click.argument("public_files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where genesis.json, network.json and <name>/node.toml go.")  # fmt: skip
@click.option("--genesis-time", required=True, type=int,
              help="UNIX seconds at which the chain's clock starts (the same for everyone).")  # fmt: skip
@click.option("--chain-id", type=int, default=8282, show_default=True)
@click.option("--timescale", type=float, default=1.0, show_default=True)
@click.option("--block-period", type=click.FloatRange(min=0.05), default=1, show_default=True)
@click.option("--empty-block-period", type=int, default=2, show_default=True)
@click.option("--request-timeout", type=int, default=4, show_default=True)
@click.option("--account", "accounts", multiple=True,
              help="An extra account, funded and allowlisted at genesis (repeatable).")  # fmt: skip
@click.option("--timekeeper", help="Predeploy the movable clock with this account as its timekeeper.")
@click.option("--json", "as_json", is_flag=True)
@fail_on(CeremonyError, OSError)
def genesis(public_files, out, genesis_time, chain_id, timescale, block_period, empty_block_period,
            request_timeout, accounts, timekeeper, as_json):  # fmt: skip
    """Write genesis.json and every node's config from the organisations' PUBLIC_FILES only.
    Rerun with the same files and options, anyone gets the same bytes."""
    from eth_utils import is_address, to_checksum_address

    from consortium.network.ceremony import NetworkSpec, assemble, genesis_sha256, load_publics, write_outputs
    from consortium.network.genesis import DEFAULT_BALANCE

    for address in [*accounts, *([timekeeper] if timekeeper else [])]:
        if not is_address(address):
            raise CeremonyError(f"{address!r} is not an account address")
    orgs = load_publics(list(public_files))
    spec = NetworkSpec(
        chain_id=chain_id,
        genesis_time=genesis_time,
        qbft=QbftSettings(
            blockperiodseconds=block_period,
            requesttimeoutseconds=request_timeout,
            emptyblockperiodseconds=empty_block_period,
        ),  # fmt: skip
        timescale=timescale,
        accounts={to_checksum_address(a): DEFAULT_BALANCE for a in accounts},
        timekeeper=to_checksum_address(timekeeper) if timekeeper else None,
    )
    files = assemble(orgs, spec)
    write_outputs(out, files)
    organisations = [
        {"name": o.name, "role": o.role, "node": o.node, "admin": o.admin, "p2p": o.p2p, "orgId": o.org_id}
        for o in orgs
    ]
    summary = {"genesisSha256": genesis_sha256(files["genesis.json"]), "organisations": organisations}
    if as_json:
        click.echo(json.dumps(summary))
        return
    columns = ["name", "role", "node", "admin", "p2p", "orgId"]
    Output(False).table("organisations", columns, [[o[c] for c in columns] for o in organisations])
    click.echo(f"genesis: {out / 'genesis.json'} (sha256 {summary['genesisSha256']})")
    click.echo(f"node configs: {out}/<name>/node.toml; each organisation checks both, then copies its own")


@net.command()
@dir_option
@click.option("--validators", type=click.IntRange(1, 64), required=True, help="Validator nodes.")
@click.option(
    "--members", type=click.IntRange(0, 64), default=0, show_default=True, help="Non-validator nodes."
)
@click.option("--base-port", type=click.IntRange(1024, 65000), default=30300, show_default=True,
              help="p2p ports start here; JSON-RPC ports start at base + 100.")  # fmt: skip
@click.option(
    "--host", "hosts", multiple=True, help="Host of each node (repeat per node; default 127.0.0.1)."
)
@click.option("--chain-id", type=int, default=8282, show_default=True)
@click.option("--timescale", type=float, default=1.0, show_default=True,
              help="Simulated seconds per real second (3600: one real second is one hour).")  # fmt: skip
@click.option("--block-period", type=click.FloatRange(min=0.05), default=1, show_default=True,
              help="QBFT blockperiodseconds, wall seconds; fractions allowed (0.25).")  # fmt: skip
@click.option("--empty-block-period", type=int, default=2, show_default=True,
              help="QBFT emptyblockperiodseconds (heartbeat).")  # fmt: skip
@click.option("--request-timeout", type=int, default=4, show_default=True, help="QBFT requesttimeoutseconds.")
@click.option("--users", type=click.IntRange(0, 10_000), default=4, show_default=True,
              help="Funded, allowlisted user accounts in accounts.json (test-network material).")  # fmt: skip
@click.option("--movable-clock", is_flag=True,
              help="Predeploy ConsortiumClock: the operator account (accounts.json) may move "
                   "every node's clock forward (advanceTo), for simulations that step time.")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite an existing network in DIR.")
@click.option("--json", "as_json", is_flag=True)
@fail_on(FileExistsError, ValueError)
def init(directory, validators, members, base_port, hosts, chain_id, timescale, block_period,
         empty_block_period, request_timeout, users, movable_clock, force, as_json):  # fmt: skip
    """A test network on this machine: one `org init` per node folder (light scrypt, a password
    file beside the keys), then `net genesis` over their public files, plus accounts.json."""
    from consortium.network.layout import init_network

    hosts = list(hosts)
    if len(hosts) > 1 and len(hosts) != validators + members:
        raise ValueError(f"give one --host per node ({validators + members}) or a single one")
    qbft = QbftSettings(
        blockperiodseconds=block_period,
        requesttimeoutseconds=request_timeout,
        emptyblockperiodseconds=empty_block_period,
    )
    entries = init_network(directory, validators, members, base_port, hosts or None, chain_id, timescale,
                           users, qbft, force, movable_clock=movable_clock)  # fmt: skip
    out = Output(as_json)
    rows = [[e.name, e.role, e.node_id, f"{e.host}:{e.p2p_port}", e.rpc_url] for e in entries]
    out.table(f"network in {directory}", ["node", "role", "node id", "p2p", "json-rpc"], rows)
    if not as_json:
        click.echo(f"genesis: {directory / 'genesis.json'}")
        click.echo(f"test accounts: {directory / 'accounts.json'} (test-network material: keep it secret)")


@net.command()
@dir_option
@click.option("--timeout", type=float, default=90.0, show_default=True, help="Seconds to wait for blocks.")
@click.option("--json", "as_json", is_flag=True)
@fail_on(FileNotFoundError, TimeoutError, RuntimeError)
def up(directory, timeout, as_json):
    """Start every node as its own process; return once blocks are being produced."""
    from consortium.network.layout import load_network
    from consortium.network.processes import start_node, wait_for_blocks

    entries = load_network(directory)
    for entry in entries:
        start_node(directory, entry)
    statuses = wait_for_blocks(directory, entries, height=1, timeout=timeout)
    _show(statuses, as_json, f"network up ({len(entries)} nodes)")


@net.command()
@dir_option
@click.option("--json", "as_json", is_flag=True)
@fail_on(FileNotFoundError)
def status(directory, as_json):
    """Per node: height, head, peers, round, validator or not, pool size, pid."""
    from consortium.network.layout import load_network
    from consortium.network.processes import node_status

    _show([node_status(directory, e) for e in load_network(directory)], as_json, "network status")


@net.command()
@dir_option
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds before SIGKILL.")
@click.option("--json", "as_json", is_flag=True)
@fail_on(FileNotFoundError)
def down(directory, timeout, as_json):
    """Stop every node: SIGTERM, wait, then SIGKILL."""
    from consortium.network.layout import load_network
    from consortium.network.processes import stop_nodes

    result = stop_nodes(directory, load_network(directory), timeout)
    Output(as_json).table("network down", ["node", "result"], [[k, v] for k, v in result.items()])


def _show(statuses: list[dict], as_json: bool, title: str) -> None:
    def cell(value):
        return "-" if value is None else value

    yes_no = {True: "yes", False: "no"}
    rows = [
        [s["name"], cell(s["pid"]), cell(s["height"]), (s["head"] or "-")[:18], cell(s["peers"]),
         cell(s["round"]), yes_no.get(s["validator"], "-"), cell(s["pool"]), s["error"] or ""]
        for s in statuses
    ]  # fmt: skip
    out = Output(as_json)
    if as_json:
        click.echo(json.dumps(statuses))
        return
    out.table(title, ["node", "pid", "height", "head", "peers", "round", "validator", "pool", "error"], rows)


# -- allowlist governance ------------------------------------------------------------------------
rpc_option = click.option(
    "--rpc", default="http://127.0.0.1:30400", show_default=True, help="A node's JSON-RPC."
)


def key_options(fn):
    """The organisation admin's key: its keystore (ORG/keystore/admin), or a hex key file."""
    fn = password_option(fn)
    fn = click.option(
        "--key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="File holding the private key as hex (instead of a keystore).",
    )(fn)
    return click.option(
        "--keystore",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="The organisation admin's keystore folder (keystore/admin in its folder).",
    )(fn)


def _admin_key(keystore: Path | None, key_file: Path | None, password_file: Path | None) -> str:
    from consortium.wallet.keystore import Keystore

    if keystore is not None:
        return "0x" + Keystore(keystore).unlock(None, read_password(password_file))[1].hex()
    if key_file is not None:
        return key_file.read_text().strip()
    raise ValueError("give the admin's key: --keystore ORG/keystore/admin (or --key-file)")


@net.group()
def allowlist() -> None:
    """Read and change the on-chain account and node allowlists (majority of organisation admins)."""


def _client(rpc: str, key: str | None = None):
    from consortium.client import connect
    from consortium.network.governance import AllowlistClient

    return AllowlistClient(connect(rpc), key)


def _refusals():
    from consortium.client.errors import ContractRefusal, TransactionError

    return ContractRefusal, TransactionError


@allowlist.command("show")
@rpc_option
@click.option("--json", "as_json", is_flag=True)
@fail_on(OSError, ValueError)
def allowlist_show(rpc, as_json):
    """Admins, allowed nodes and accounts, and proposals waiting for approvals."""
    client = _client(rpc)
    lists, pending = client.lists(), client.pending()
    if as_json:
        click.echo(json.dumps({**lists, "pending": pending}))
        return
    out = Output(False)
    for name in ("admins", "nodes", "accounts"):
        out.table(name, ["address"], [[a] for a in lists[name]])
    rows = [
        [p["id"], p["kind"], p["target"], "add" if p["add"] else "remove", f"{p['approvals']}/{p['admins']}"]
        for p in pending
    ]
    out.table(
        "pending proposals",
        ["id", "kind", "target", "change", "approvals"],
        rows,
        empty="no pending proposals",
    )


@allowlist.command("propose")
@rpc_option
@key_options
@click.option("--account", "target", flag_value="account", help="Change the account allowlist.")
@click.option("--node", "target", flag_value="node", help="Change the node allowlist.")
@click.option("--admin", "target", flag_value="admin", help="Change the admin set.")
@click.option("--remove", is_flag=True, help="Remove ADDRESS instead of adding it.")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True)
@fail_on(OSError, ValueError, KeystoreError, *_refusals())
def allowlist_propose(rpc, keystore, key_file, password_file, target, remove, address, as_json):
    """Propose adding (or --remove-ing) ADDRESS; your approval is counted at once."""
    if target is None:
        raise ValueError("say which list: --account, --node or --admin")
    key = _admin_key(keystore, key_file, password_file)
    outcome = _client(rpc, key).propose(target, address, not remove)
    _report(outcome, as_json)


@allowlist.command("approve")
@rpc_option
@key_options
@click.argument("proposal", type=int)
@click.option("--json", "as_json", is_flag=True)
@fail_on(OSError, ValueError, KeystoreError, *_refusals())
def allowlist_approve(rpc, keystore, key_file, password_file, proposal, as_json):
    """Approve proposal PROPOSAL; it applies once a strict majority of admins approved it."""
    _report(_client(rpc, _admin_key(keystore, key_file, password_file)).approve(proposal), as_json)


def _report(outcome, as_json: bool) -> None:
    state = "applied" if outcome.executed else "waiting for more approvals"
    Output(as_json).result(
        outcome.__dict__,
        f"proposal {outcome.proposal}: {outcome.approvals} of {outcome.admins} admins approve, {state}",
    )
