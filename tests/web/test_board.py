"""The notice board and "my membership" in a real browser, against a real dev node process with the
suite deployed and a claim under public notice (tests/web/world.py), served by `hubao web`."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.web.conftest import WebServer, charts_drawn, count_of, screenshot, text_of, texts_of, wait_for
from tests.web.world import build


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The dev node's world, the same on anvil, and three servers started at once (each process
    spends seconds importing web3): the board, the same against a deployment for another chain,
    and the board on anvil."""
    root = tmp_path_factory.mktemp("web-board")
    w = build(root / "dev")
    w.anvil = build(root / "anvil", anvil=True)
    wrong = root / "other-chain.json"  # the same file, for a chain the node does not run
    wrong.write_text(json.dumps({**json.loads(w.deployment_path.read_text()), "chain_id": 4242}))
    servers = {
        "server": ["--rpc", w.node.url, "--deployment", str(w.deployment_path)],
        "wrong": ["--rpc", w.node.url, "--deployment", str(wrong)],
        "on_anvil": ["--rpc", w.anvil.node.url, "--deployment", str(w.anvil.deployment_path)],
    }
    for name, args in servers.items():
        setattr(w, name, WebServer(args, root / f"{name}.log"))
    try:
        for name in servers:
            getattr(w, name).wait_ready()
        yield w
    finally:
        for name in servers:
            getattr(w, name).stop()
        w.node.stop()
        w.anvil.node.stop()


def open_page(browser, url: str) -> None:
    browser.get(url)
    wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete")


def test_board_lists_the_case_under_notice(world, browser):
    open_page(browser, world.server.url + "/")
    cells = texts_of(browser, f"#notices tr[data-claim='{world.claims['bob']}'] td")
    assert cells[0] == f"#{world.claims['bob']}"
    assert cells[1] == "Brain injury (severe) code 18" and cells[2] == "accident"
    assert cells[3] == "under 40" and cells[4] == "RMB 300.00"
    assert cells[5].startswith("0x11111111") and cells[7] == "1"  # dave's objection
    assert count_of(browser, "#notices tbody tr") == 1  # alice's is paid, carol's rejected
    decisions = text_of(browser, "#decisions")
    assert "rejected by the investigators" in decisions and "paid to the claimant" in decisions
    assert world.address("bob") not in browser.page_source  # never who
    # alice's payout was shared by the five others: RMB 300 + 8 % fee over 5, to the fen
    newest = texts_of(browser, "#periods tbody tr:first-child td")
    assert newest[2:7] == ["5", "RMB 64.80", "1", "RMB 300.00", "RMB 24.00"]
    wait_for(browser, lambda d: charts_drawn(d) == 2, what="both charts")
    screenshot(browser, "board")


def test_member_lookup_shows_the_right_state(world, browser):
    open_page(browser, world.server.url + "/member")
    box = browser.find_element(By.NAME, "address")
    box.send_keys(world.address("bob"), Keys.ENTER)
    wait_for(browser, lambda d: text_of(d, "#member-state"), what="bob's state")
    assert text_of(browser, "#member-state") == "active"
    stage = text_of(browser, f"#member-claims tr[data-claim='{world.claims['bob']}'] .stage")
    assert stage == "in notice approved, under public notice"
    assert "RMB 300.00" in text_of(browser, "#membership")  # cover, under 40
    screenshot(browser, "member")
    open_page(browser, world.server.url + "/member?address=" + world.address("alice").lower())
    assert text_of(browser, "#member-state") == "paid out"
    assert text_of(browser, f"#member-claims tr[data-claim='{world.claims['alice']}'] .stage").startswith(
        "accepted"
    )


def test_a_block_and_a_decision_appear_without_reload(world, browser):
    open_page(browser, world.server.url + "/")
    wait_for(browser, lambda d: text_of(d, "#live-status") == "live", what="the live connection")
    browser.execute_script("window.notReloaded = true")
    before = text_of(browser, "#head-number")
    mined = world.mine()
    assert before.isdigit() and mined > int(before), (before, mined)
    wait_for(browser, lambda d: text_of(d, "#head-number") == str(mined), what=f"block {mined}")
    # carol disputes her rejection: a suite event, so the board's decisions refresh by themselves
    world.members["carol"].claims.dispute(world.claims["carol"])
    wait_for(browser, lambda d: "before the review board" in text_of(d, "#decisions"), what="the dispute")
    assert browser.execute_script("return window.notReloaded") is True, "the page was reloaded"
    screenshot(browser, "board-live")


def test_bad_input_is_a_message_on_the_page(world, browser):
    open_page(browser, world.server.url + "/member")
    browser.find_element(By.NAME, "address").send_keys("0x1234 not an address", Keys.ENTER)
    wait_for(browser, lambda d: text_of(d, "#problem"), what="the message")
    assert "is not an address: an address is 0x followed by 40 hexadecimal digits" in text_of(
        browser, "#problem"
    )
    screenshot(browser, "member-invalid")
    mistyped = world.address("bob")
    mistyped = mistyped[:2] + mistyped[2:].swapcase()
    open_page(browser, world.server.url + "/member?address=" + mistyped)
    assert "checksum" in text_of(browser, "#problem")
    open_page(browser, world.wrong.url + "/")
    assert "is for chain 4242, but the node at" in text_of(browser, "#problem")
    assert "Traceback" not in browser.page_source
    assert world.server.alive() and world.wrong.alive()


def test_a_node_that_stops_answering_is_a_message_and_the_board_comes_back(world, browser):
    world.node.kill()  # a crash: the chain survives it (LMDB), the board must too
    open_page(browser, world.server.url + "/")
    assert f"no node answers at {world.node.url}" in text_of(browser, "#problem")
    wait_for(browser, lambda d: "live updates paused" in text_of(d, "#live-status"), what="the paused status")
    screenshot(browser, "board-node-down")
    world.node.launch()
    started = time.monotonic()
    wait_for(browser, lambda d: text_of(d, "#live-status") == "live", timeout=30, what="the node back")
    wait_for(browser, lambda d: count_of(d, "#notices tbody tr") == 1, what="the board again")
    assert count_of(browser, "#problem") == 0
    assert world.server.alive() and time.monotonic() - started < 30


def test_the_board_works_against_anvil(world, browser):
    """JSON-RPC reads alone: the same pages against a node that is not ours."""
    a, server = world.anvil, world.on_anvil
    open_page(browser, server.url + "/")
    assert count_of(browser, f"#notices tr[data-claim='{a.claims['bob']}']") == 1
    wait_for(browser, lambda d: text_of(d, "#live-status") == "live", what="anvil's subscriptions")
    mined = a.mine()
    wait_for(browser, lambda d: text_of(d, "#head-number") == str(mined), what=f"anvil's block {mined}")
    open_page(browser, server.url + "/member?address=" + a.address("alice"))
    assert text_of(browser, "#member-state") == "paid out"
    screenshot(browser, "board-anvil")
