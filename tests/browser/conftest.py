"""One `dagster dev` with demo data for the browser tests; Debian's Chromium driven by Playwright.

The server runs the platform as `make run` does (webserver, daemon, landing sensor), on a free
port of 127.0.0.1, with every location under a temporary folder. Its landing zone holds one
month of SF 0.01 demo data, so the first load the landing sensor starts takes seconds, not
minutes; the flows under test are the same for the whole history.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from data_platform.simulate.__main__ import main as simulate

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
# Debian's package (CI installs it); Playwright cannot download its own browsers here.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
FIRST_DAY, LAST_DAY = "1995-01-01", "1995-01-31"
START_TIMEOUT = 240.0
FIRST_LOAD_TIMEOUT = 300.0
FIRST_LOAD = ("silver/customer", "silver/nation", "silver/orders", "silver/lineitem")


@dataclass(frozen=True)
class Dagster:
    url: str
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload: dict[str, Any] = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        data: dict[str, Any] = payload["data"]
        return data

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def wait_until(condition: Callable[[], bool], timeout: float, what: str, server: Dagster) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s: {what}\n{server.log_tail()}")
        time.sleep(2)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def location_loaded(server: Dagster) -> bool:
    try:
        data = server.graphql(
            "{ workspaceOrError { ... on Workspace { locationEntries {"
            " loadStatus locationOrLoadError { __typename } } } } }"
        )
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    entries = data["workspaceOrError"].get("locationEntries", [])
    loaded = [e for e in entries if e["loadStatus"] == "LOADED"]
    errors = [e for e in loaded if e["locationOrLoadError"]["__typename"] != "RepositoryLocation"]
    if errors:
        raise AssertionError(f"the code location failed to load: {errors}")
    return bool(entries) and len(loaded) == len(entries)


@pytest.fixture(scope="session")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dagster]:
    """`dagster dev` over demo data, in its own process group, killed whole at the end."""
    root = tmp_path_factory.mktemp("platform")
    landing, home = root / "landing", root / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    args = ["--sf", "0.01", "--out", str(landing), "--start", FIRST_DAY, "--end", LAST_DAY]
    assert simulate(args) == 0
    env = {
        **os.environ,
        "PLATFORM_LANDING_DIR": str(landing),
        "PLATFORM_LAKE_DIR": str(root / "lake"),
        "PLATFORM_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "DAGSTER_HOME": str(home),
        "DAGSTER_EVENT_BATCH_SIZE": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "1000"),
    }
    port = free_port()
    dagster_cli = Path(sys.executable).parent / "dagster"
    command = [str(dagster_cli), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    server = Dagster(url=f"http://127.0.0.1:{port}", log=root / "dagster_dev.log")
    with server.log.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def started() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"dagster dev exited ({process.returncode}):\n{server.log_tail()}")
        return location_loaded(server)

    try:
        wait_until(started, START_TIMEOUT, "dagster dev to load the code location", server)
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask dagster dev to shut down its webserver, daemon and code servers; then make sure no
    process of its group (run workers included) outlives the tests."""
    process.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture(scope="session")
def first_load(dagster: Dagster) -> Dagster:
    """The landing sensor's first load, done: the silver tables gold reads are materialized and
    no run is in progress (whichever sensor launched the runs)."""

    def done() -> bool:
        data = dagster.graphql(
            "query($keys: [AssetKeyInput!]) { assetNodes(assetKeys: $keys) {"
            " assetMaterializations(limit: 1) { timestamp } }"
            " runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {"
            " ... on Runs { results { runId } } } }",
            {"keys": [{"path": key.split("/")} for key in FIRST_LOAD]},
        )
        materialized = [n for n in data["assetNodes"] if n["assetMaterializations"]]
        return len(materialized) == len(FIRST_LOAD) and not data["runsOrError"]["results"]

    wait_until(done, FIRST_LOAD_TIMEOUT, "the first load of the landed files", dagster)
    return dagster


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, dagster: Dagster) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=dagster.url)
    context.set_default_timeout(60_000)
    opened = context.new_page()
    # The first visit of an instance shows a community sign-up modal that blocks every click.
    opened.add_locator_handler(
        opened.get_by_role("dialog").filter(has_text="Join the Dagster community"),
        lambda dialog: dialog.get_by_role("button", name="Skip").click(),
    )
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot for the README under docs/."""
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / name))
