"""The consortium console in a real browser: a 4-validator network of real node processes
(`hubao net init` / `net up`), `hubao web --network DIR`, and one validator stopped while the page is
open."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from consortium.cli import main
from consortium.network.layout import free_base_port, load_network
from consortium.network.processes import stop_node
from tests.web.conftest import WebServer, charts_drawn, screenshot, text_of, texts_of, wait_for

NAMES = ["validator-0", "validator-1", "validator-2", "validator-3"]


def hubao(*args: str) -> None:
    """The `hubao net` commands in this process (the nodes are processes of their own): each
    `hubao` process would spend seconds of the test's CPU importing web3 first."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    root = tmp_path_factory.mktemp("web-console")
    base = str(free_base_port(4))
    hubao("net", "init", "--validators", "4", "--dir", str(root), "--base-port", base)
    server = WebServer(["--network", str(root)], root / "web.log")  # starts while the nodes do
    try:
        hubao("net", "up", "--dir", str(root), "--json", "--timeout", "90")
        server.wait_ready()
        yield root, server
    finally:
        server.stop()
        hubao("net", "down", "--dir", str(root), "--json")


def rows(browser) -> dict[str, str]:
    """node name -> its state as the page shows it (one script: the table is replaced as it refreshes)."""
    return dict(
        browser.execute_script(
            "return [...document.querySelectorAll('#nodes tbody tr')]"
            ".map(r => [r.dataset.node, r.querySelector('.node-state').innerText.trim()])"
        )
    )


def test_console_lists_each_node_and_marks_one_stopped(network, browser):
    root, server = network
    browser.get(server.url + "/console")
    wait_for(browser, lambda d: rows(d) == dict.fromkeys(NAMES, "up"), what="four nodes up")
    assert texts_of(browser, "#nodes tbody td:nth-child(4)") == ["yes"] * 4
    validators = text_of(browser, "#validators ol")
    assert all(name in validators for name in NAMES)  # the set at the head, named by node id
    assert text_of(browser, "#allowlists").count("validator-") >= 4  # the node allowlist
    wait_for(browser, lambda d: charts_drawn(d) == 2, what="both charts")
    screenshot(browser, "console")

    browser.execute_script("window.notReloaded = true")
    entry = next(e for e in load_network(root) if e.name == "validator-3")
    assert stop_node(root, entry) in ("stopped", "killed")
    wait_for(
        browser, lambda d: rows(d).get("validator-3") == "stopped", timeout=30, what="validator-3 stopped"
    )
    assert {n: s for n, s in rows(browser).items() if n != "validator-3"} == dict.fromkeys(NAMES[:3], "up")
    assert browser.execute_script("return window.notReloaded") is True
    height = int(text_of(browser, "tr[data-node='validator-0'] td:nth-child(5)"))
    # three of four are a quorum: blocks go on, and the console shows them without a reload
    wait_for(
        browser, lambda d: int(text_of(d, "#head-number") or 0) > height + 1, timeout=30, what="new blocks"
    )
    screenshot(browser, "console-stopped")
    assert server.alive() and json.loads((root / "network.json").read_text())
