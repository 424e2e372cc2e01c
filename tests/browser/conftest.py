"""The chat page (web/) in a real browser: Debian's Chromium driven by Playwright, against `python -m emulator`
started as `make local` starts it, on a free port.

Chromium is a system package, not something pip installs: `apt-get install -y chromium` (.ci/run does it). Where
it is missing these tests fail, saying so, rather than skip quietly; `BROWSER_TESTS=skip make test` runs the rest
and ends with a banner saying the browser tests did not run.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SKIP = os.environ.get("BROWSER_TESTS") == "skip"
INSTALL = "apt-get update && apt-get install -y chromium"
# Never `playwright install`: it downloads a browser build of its own. Debian's package is what runs here.
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_terminal_summary(terminalreporter) -> None:
    if SKIP:
        terminalreporter.write_sep("!", "THE BROWSER TESTS DID NOT RUN (BROWSER_TESTS=skip)", red=True, bold=True)
        terminalreporter.write_line(f"The chat page is untested. Install Chromium ({INSTALL}) and run make test.")


class Site:
    """A started `python -m emulator`: its addresses, read from its banner once it is up (the first one asked
    for waits, so the browser launches while the emulator starts)."""

    def __init__(self, log: Path, process: subprocess.Popen) -> None:
        self.log, self.process = log, process

    @cached_property
    def banner(self) -> str:
        deadline = time.monotonic() + 30
        while "Ctrl-C to stop." not in (text := self.log.read_text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start:\n{text}")
            time.sleep(0.05)
        assert text.index("Chat page:") < text.index("Serving"), "make local prints the page's address first"
        return text

    def _find(self, pattern: str) -> str:
        return re.search(pattern, self.banner, re.M).group(1)

    @property
    def page(self) -> str:  # http://127.0.0.1:<port>/
        return self._find(r"^Chat page: (\S+)$")

    @property
    def socket(self) -> str:  # ws://127.0.0.1:<port>/<stage>
        return self._find(r" on (ws://\S+)")

    @property
    def standin(self) -> str:  # the Bedrock stand-in's http:// URL
        return self._find(r"stand-in at (\S+)")

    def streams(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.standin}/_standin/streams", timeout=5) as response:
            return json.load(response)


@contextmanager
def emulator(log: Path, *args: str) -> Iterator[Site]:
    """`make local`'s command on a free port, with a fast stand-in (prompts slow it down per request)."""
    command = [sys.executable, "-m", "emulator", "--port", "0", "--web-dir", "web"]
    command += ["--standin-rate", "400", "--standin-ttft-ms", "0", *args]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield Site(log, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # A module may serve the stack differently: EMULATOR_ARGS, e.g. ("--parameter", "ModelIds=…").
    args = getattr(request.module, "EMULATOR_ARGS", ())
    with emulator(tmp_path_factory.mktemp("emulator") / "emulator.log", *args) as running:
        yield running


# Module scope, not session: while Playwright's sync API is running, its event loop is the thread's running
# loop, and the async tests that follow could not start their own.
@pytest.fixture(scope="module")
def browser():
    if SKIP:
        pytest.skip("BROWSER_TESTS=skip: the chat page is not tested")
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(
            f"Chromium is not installed ({CHROMIUM} missing), so the browser tests cannot run.\n"
            f"Install it: {INSTALL}\n"
            "Or run without them, knowingly: BROWSER_TESTS=skip make test",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (user-data-dir) and every context fresh storage.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watch:
    """What the page did that it should not: dialogs, page errors, requests to anywhere but the page's origin."""

    dialogs: list[str]
    errors: list[str]
    foreign: list[str]
    accept: bool = False  # answer dialogs (Delete chat's confirm) with OK instead of Cancel


@pytest.fixture
def context(site: Site, browser):  # site first: the emulator starts while the browser launches
    context = browser.new_context(viewport={"width": 800, "height": 700})
    context.set_default_timeout(5000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def watch(context, site: Site) -> Watch:
    watch = Watch([], [], [])
    origin = site.page.rstrip("/")
    socket_origin = site.socket.rsplit("/", 1)[0]

    def on_page(page):
        def on_dialog(dialog) -> None:
            watch.dialogs.append(dialog.message)
            dialog.accept() if watch.accept else dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))

    def on_request(request):
        if not request.url.startswith((origin, socket_origin)):
            watch.foreign.append(request.url)

    context.on("page", on_page)
    context.on("request", on_request)
    return watch


@pytest.fixture
def page(context, site: Site, watch: Watch):
    """The chat page, connected to the emulator."""
    page = context.new_page()
    page.goto(site.page)
    page.get_by_role("status").filter(has_text="Connected").wait_for()
    return page
