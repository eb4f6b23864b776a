"""Headless Chromium from Debian driven by selenium (`make browser` installs it when missing), and
`hubao web` as a real process. Every test leaves a full-page screenshot in build/web-*.png."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from harness.processes import HUBAO, ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1360,900",
]  # fmt: skip
SHOTS = ROOT / "build"


class WebServer:
    """`hubao web ARGS` on a free port, its output in a log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [*HUBAO, "web", "--port", str(self.port), *args],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def wait_ready(self, timeout: float = 60) -> WebServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                urllib.request.urlopen(self.url + "/static/hubao.css", timeout=2).close()
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise TimeoutError(f"hubao web not serving after {timeout}s:\n{self.log.read_text()}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        assert "Traceback" not in self.log.read_text(), self.log.read_text()


@pytest.fixture(scope="session")
def browser():
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        subprocess.run(["make", "-C", str(ROOT), "browser"], check=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.TemporaryDirectory(prefix="hubao-chromium-")
    options.add_argument(f"--user-data-dir={profile.name}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    profile.cleanup()


def wait_for(driver, condition, timeout: float = 20, what: str = "the page"):
    """Wait (bounded) until `condition(driver)` is truthy; the message names what never came."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        condition, f"{what} not shown in {timeout}s"
    )


def text_of(driver, css: str) -> str:
    """The text of the first match, read in one script: the live region may be replaced at any time,
    so an element found in one call may be gone by the next."""
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : ''", css
    )


def texts_of(driver, css: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim())", css
    )


def count_of(driver, css: str) -> int:
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length", css)


def screenshot(driver, name: str) -> Path:
    """The whole page, not just the window: grow the window to the page's height first."""
    SHOTS.mkdir(exist_ok=True)
    height = min(driver.execute_script("return document.documentElement.scrollHeight"), 6000)
    driver.set_window_size(1360, max(height, 900))
    chrome = driver.execute_script("return window.outerHeight - window.innerHeight")
    if chrome > 0:  # the window's own bars take part of its height
        driver.set_window_size(1360, max(height, 900) + chrome)
    path = SHOTS / f"web-{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1360, 900)
    return path


def charts_drawn(driver) -> int:
    """How many canvases Chart.js has drawn a chart on."""
    return driver.execute_script(
        "return [...document.querySelectorAll('canvas[data-chart]')].filter(c => Chart.getChart(c)).length"
    )
