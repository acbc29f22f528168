"""One `dagster dev` with demo data for the browser tests; Debian's Chromium driven by Playwright.

The server runs the platform as `make run` does (webserver, daemon, landing sensor), on a free
port of 127.0.0.1, with every location under a temporary folder. Its landing zone holds one
month of SF 0.01 demo data, so the first load the landing sensor starts takes seconds, not
minutes; the flows under test are the same for the whole history.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from data_platform.definitions import build_definitions
from data_platform.simulate.__main__ import main as simulate
from tests.platform_server import REPO, DagsterDev, until

DOCS = REPO / "docs"
# Set (to anything but 0) by `make screenshots`: only then are the screenshots in docs/ rewritten.
SCREENSHOTS_VARIABLE = "PLATFORM_SCREENSHOTS"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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


@pytest.fixture(scope="session")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """`dagster dev` over a month of demo data, killed with all its processes at the end."""
    server = DagsterDev(tmp_path_factory.mktemp("platform"))
    args = ["--sf", "0.01", "--out", str(server.landing), "--start", FIRST_DAY, "--end", LAST_DAY]
    assert simulate(args) == 0
    try:
        yield server.start(timeout=START_TIMEOUT)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def first_load(dagster: DagsterDev) -> DagsterDev:
    """The landing sensor's first load, done: the silver tables gold reads are materialized and
    no run is in progress (whichever sensor launched the runs)."""

    # the silver tables the daily gold mart reads
    graph = build_definitions().resolve_asset_graph()
    first_load_keys = list(graph.get(dg.AssetKey(["gold", "daily_revenue_by_nation"])).parent_keys)

    def done() -> bool:
        data = dagster.graphql(
            "query($keys: [AssetKeyInput!]) { assetNodes(assetKeys: $keys) {"
            " assetMaterializations(limit: 1) { timestamp } }"
            " runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) {"
            " ... on Runs { results { runId } } } }",
            {"keys": [{"path": key.path} for key in first_load_keys]},
        )
        materialized = [n for n in data["assetNodes"] if n["assetMaterializations"]]
        return len(materialized) == len(first_load_keys) and not data["runsOrError"]["results"]

    until(done, FIRST_LOAD_TIMEOUT, every=2, why="the first load of the landed files")
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
def page(browser: Browser, dagster: DagsterDev) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=dagster.url)
    context.set_default_timeout(60_000)
    # Assertions wait as long as actions do: on a loaded machine (CI, two test workers, the
    # platform's own runs) the UI's GraphQL answers take seconds, past expect's default 5 s.
    expect.set_options(timeout=60_000)
    opened = context.new_page()
    # The first visit of an instance shows a community sign-up modal that blocks every click.
    opened.add_locator_handler(
        opened.get_by_role("dialog").filter(has_text="Join the Dagster community"),
        lambda dialog: dialog.get_by_role("button", name="Skip").click(),
    )
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> None:
    """Take a screenshot of the page; write it to docs/<name> only when asked.

    The walkthrough's screenshots (docs/walkthrough.md) are tracked files, so `make test` must not
    rewrite them: it renders each screenshot in memory and checks it is a PNG. `make screenshots`
    sets `PLATFORM_SCREENSHOTS=1`, which writes them under docs/.
    """
    image = page.screenshot()
    assert image.startswith(PNG_SIGNATURE), f"{name}: not a PNG"
    assert len(image) > len(PNG_SIGNATURE), f"{name}: an empty image"
    if os.environ.get(SCREENSHOTS_VARIABLE, "") not in ("", "0"):
        DOCS.mkdir(exist_ok=True)
        (DOCS / name).write_bytes(image)
