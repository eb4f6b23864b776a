"""Node processes on this machine: every `hubao node run` that Hubao starts itself goes through `spawn`.

Two ways to hold one:
  - a network's nodes, detached and found again by pid file (`start_node`, `stop_node`): what
    `hubao net up/status/down` use to run every node of a network on one machine (on real hosts
    each organisation runs `hubao node run --config node.toml` itself);
  - a child this program owns and waits on (`NodeProcess`, `DevNode.start`): what benchmarks and
    tests use to start a node, crash it (kill -9) and start it again on the same datadir.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from consortium.client.jwt import authorization
from consortium.network.config import JWT_SECRET_FILE
from consortium.network.layout import NodeEntry

PID_FILE = "node.pid"
LOG_FILE = "node.log"
HUBAO = [sys.executable, "-m", "consortium.cli"]


def spawn(args: list[str], log_path: Path, cwd: Path | None = None, detach: bool = False) -> subprocess.Popen:
    """Start `hubao *args`, output appended to `log_path`; `detach`: its own session, no stdin (it
    outlives the terminal that started it)."""
    log = open(log_path, "ab")  # noqa: SIM115 (handed to the child)
    try:
        return subprocess.Popen(
            HUBAO + args,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL if detach else None,
            start_new_session=detach,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        log.close()


def pid_of(folder: Path) -> int | None:
    """The pid in the folder's pid file, if that process is still alive."""
    try:
        pid = int((folder / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid if _not_zombie(pid) else None


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, PermissionError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_node(root: Path, entry: NodeEntry) -> int:
    """Start one node detached from this terminal; returns its pid (already running: that pid)."""
    folder = root / entry.folder
    running = pid_of(folder)
    if running:
        return running
    args = ["node", "run", "--config", str(folder / "node.toml")]
    proc = spawn(args, folder / LOG_FILE, folder, detach=True)
    (folder / PID_FILE).write_text(f"{proc.pid}\n")
    return proc.pid


def stop_node(root: Path, entry: NodeEntry, timeout: float = 10.0) -> str:
    """SIGTERM, wait up to `timeout`, then SIGKILL. Returns what happened."""
    folder = root / entry.folder
    pid = pid_of(folder)
    if pid is None:
        (folder / PID_FILE).unlink(missing_ok=True)
        return "not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid):
            (folder / PID_FILE).unlink(missing_ok=True)
            return "stopped"
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    while not _reap(pid):
        time.sleep(0.05)
    (folder / PID_FILE).unlink(missing_ok=True)
    return "killed"


def stop_nodes(root: Path, entries: list[NodeEntry], timeout: float = 10.0) -> dict[str, str]:
    """Stop several nodes at once (each its own SIGTERM-wait-SIGKILL); {name: what happened}."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(entries))) as pool:
        results = pool.map(lambda e: stop_node(root, e, timeout), entries)
        return dict(zip((e.name for e in entries), results, strict=True))


def _reap(pid: int) -> bool:
    """True once `pid` is gone (reaping it when it is our child)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return not _not_zombie(pid)


def rpc(url: str, method: str, params: list | None = None, timeout: float = 3.0, jwt: bytes | None = None):
    """One JSON-RPC call (signed with a JWT from `jwt`, the node's secret, when given); raises on
    transport errors and on an error reply, with the node's words for a refusal."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    headers = {"Content-Type": "application/json"}
    if jwt is not None:
        headers["Authorization"] = authorization(jwt)
    request = urllib.request.Request(url, body, headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # a refusal (401, 403, ...) carries a JSON-RPC error
        try:
            reply = json.loads(exc.read())
        except ValueError:
            raise RuntimeError(f"{method}: HTTP {exc.code} {exc.reason}") from None
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error'].get('message')}")
    return reply["result"]


def node_secret(root: Path, entry: NodeEntry) -> bytes | None:
    """The node's JWT secret, when its folder is on this machine (`hubao net init`)."""
    from node.rpc.jwt import JwtError, load_secret

    path = root / entry.folder / JWT_SECRET_FILE
    try:
        return load_secret(path) if path.exists() else None
    except JwtError:
        return None


def _optional(url: str, method: str, jwt: bytes | None):
    """A call a node may not serve to us (its operator did not open it): None then."""
    try:
        return rpc(url, method, jwt=jwt)
    except RuntimeError:
        return None


def node_status(root: Path, entry: NodeEntry) -> dict:
    """What `hubao net status` shows for one node (fields are None when the node does not answer,
    or does not serve the call: peers, round and pool need admin and txpool, with its JWT beyond
    loopback)."""
    status = {
        "name": entry.name,
        "role": entry.role,
        "nodeId": entry.node_id,
        "rpc": entry.rpc_url,
        "pid": pid_of(root / entry.folder),
        "height": None,
        "head": None,
        "peers": None,
        "round": None,
        "validator": None,
        "pool": None,
        "error": None,
    }
    url, jwt = entry.rpc_url, node_secret(root, entry)
    try:
        head = rpc(url, "eth_getBlockByNumber", ["latest", False])
        status.update(height=int(head["number"], 16), head=head["hash"])
        status["peers"] = int(rpc(url, "net_peerCount"), 16)
        info = _optional(url, "admin_nodeInfo", jwt) or {}
        pool = _optional(url, "txpool_status", jwt)
        status.update(
            pool=None if pool is None else sum(int(v, 16) for v in pool.values()),
            round=info.get("round"),
            validator=info.get("validator"),
        )
    except OSError:  # refused, timed out: down or still starting
        status["error"] = "not running" if status["pid"] is None else "not answering"
    except Exception as exc:
        status["error"] = str(exc) or type(exc).__name__
    return status


def wait_for_blocks(
    root: Path, entries: list[NodeEntry], height: int = 1, timeout: float = 60.0
) -> list[dict]:
    """Wait until every node answers and has reached `height`; raise TimeoutError naming laggards."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = [node_status(root, e) for e in entries]
        laggards = [s for s in statuses if s["height"] is None or s["height"] < height]
        if not laggards:
            return statuses
        dead = [s["name"] for s in laggards if s["pid"] is None]
        if dead:
            raise RuntimeError(f"node(s) exited: {', '.join(dead)} (see their node.log)")
        if time.monotonic() > deadline:
            names = ", ".join(f"{s['name']} ({s['error'] or 'height ' + str(s['height'])})" for s in laggards)
            raise TimeoutError(f"no blocks after {timeout:.0f}s on: {names}")
        time.sleep(0.25)


def wait_for_rpc(
    url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0, log: Path | None = None
) -> None:
    """Wait until `url` answers eth_blockNumber; fail early (with its log's tail) if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"node exited with {proc.returncode} before serving:\n{tail}")
        try:
            rpc(url, "eth_blockNumber", timeout=2)
            return
        except (OSError, RuntimeError):  # refused or not ready yet (URLError is an OSError)
            time.sleep(0.1)
    raise TimeoutError(f"no JSON-RPC at {url} after {timeout}s")


class NodeProcess:
    """A `hubao` node child process with its log file; kill/restart keep the same command line."""

    def __init__(self, args: list[str], port: int, log_path: Path, host: str = "127.0.0.1") -> None:
        self.args = args
        self.port = port
        self.host = host
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def launch(self, timeout: float = 60.0) -> NodeProcess:
        """Start it and return once it serves JSON-RPC."""
        self.proc = spawn(self.args, self.log_path)
        wait_for_rpc(self.url, self.proc, timeout, self.log_path)
        return self

    def rpc(self, method: str, *params, timeout: float = 30.0):
        return rpc(self.url, method, list(params), timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup, like a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def restart(self, timeout: float = 60.0) -> NodeProcess:
        self.stop()
        return self.launch(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> NodeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class DevNode(NodeProcess):
    """`hubao node run --dev` (the anvil-like single node) as a child process."""

    @classmethod
    def start(
        cls,
        datadir: str | Path,
        port: int | None = None,
        block_time: float | None = None,
        extra: list[str] = (),
    ) -> DevNode:
        """Start one on `datadir` (created if missing) and a free port; its log is `<datadir>.log`."""
        datadir = Path(datadir)
        datadir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        args = ["node", "run", "--dev", "--port", str(port), "--datadir", str(datadir), *extra]
        if block_time:
            args += ["--block-time", str(block_time)]
        return cls(args, port, datadir.parent / f"{datadir.name}.log").launch()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now (the OS picks it)."""
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
