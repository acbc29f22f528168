"""The Dagster UI as an operator uses it, in Chromium, against `dagster dev` over demo data.

The landing sensor loads the demo files on its own after start-up; every flow waits for that
first load (`first_load`) and judges only what the UI shows, not which sensor ran what. The graph
is visited last, so its screenshot shows gold built.
"""

import contextlib
import re
import urllib.parse

import dagster as dg
import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from data_platform.definitions import build_definitions
from tests.browser.conftest import screenshot
from tests.platform_server import DagsterDev

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 300_000
DAILY_MART = dg.AssetKey(["gold", "daily_revenue_by_nation"])
BACKFILL = ("1995-01-10", "1995-01-16")
# TPC-H's customer table has 150,000 rows per unit of scale factor.
CUSTOMERS_AT_SF_001 = 1_500


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return build_definitions()


def lineage(selection: str) -> str:
    """The asset graph page filtered by a selection query."""
    return "/asset-groups~" + urllib.parse.quote(selection, safe="") + "/"


def show_facets(page: Page, shown: set[str]) -> None:
    """Choose what every node of the graph shows (the UI keeps it per browser)."""
    page.get_by_role("button", name="config", exact=True).click()
    dialog = page.get_by_role("dialog")
    for label in dialog.locator("label").all():
        name = label.inner_text().strip()
        if dialog.get_by_label(name, exact=True).is_checked() != (name in shown):
            label.click()
    dialog.get_by_role("button", name="Save").click()


def expand_all_groups(page: Page, inside: Locator) -> None:
    """Expand the graph's groups until `inside`, something in a group, shows: the menu's toggle
    does nothing while the graph is still loading its groups."""
    for _ in range(4):
        if inside.is_visible():
            return
        page.get_by_role("button", name="settings", exact=True).click()
        toggle = page.get_by_role("menuitem", name=re.compile(r"(Expand|Collapse) all groups"))
        try:
            # the menu re-renders while the graph loads: a detached item is retried, not waited on
            toggle.click(timeout=10_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            continue
        with contextlib.suppress(AssertionError):
            expect(inside).to_be_visible(timeout=10_000)
    expect(inside).to_be_visible()


def test_a_silver_table_shows_its_row_count_columns_and_passed_checks(
    page: Page, first_load: DagsterDev, definitions: dg.Definitions
) -> None:
    key = dg.AssetKey(["silver", "customer"])
    page.goto(f"/assets/{key.to_user_string()}")
    expect(page.get_by_text("Row count", exact=True)).to_be_visible()
    expect(page.get_by_text(f"{CUSTOMERS_AT_SF_001:,}", exact=True)).to_be_visible()
    for column in lin.silver_schema(entity_named("customer")):
        expect(page.get_by_text(column, exact=True).first).to_be_visible()
    for figure in ("rows_landed", "rows_current", "rows_quarantined"):
        expect(page.get_by_text(figure, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="quarantine / customer")).to_be_visible()
    screenshot(page, "asset-page.png")

    page.goto(f"/assets/{key.to_user_string()}?view=checks")
    checks = definitions.resolve_asset_graph().get_check_keys_for_assets({key})
    assert checks
    for check in checks:
        row = page.locator("span", has=page.get_by_title(check.name, exact=True)).first
        expect(row).to_contain_text("Succeeded")


def test_a_gold_report_materializes_from_its_page(page: Page, first_load: DagsterDev) -> None:
    page.goto("/assets/gold/pricing_summary")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize$")).click()
    page.get_by_role("link", name="View", exact=True).click()  # the "Launched run" toast
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]+"))
    outcome = page.get_by_text(re.compile(r"^(Success|Failure|Canceled)$")).first
    expect(outcome).to_be_visible(timeout=RUN_TIMEOUT)
    expect(outcome).to_have_text("Success")

    page.goto("/assets/gold/pricing_summary")
    expect(page.get_by_text("Row count", exact=True)).to_be_visible()
    expect(page.get_by_text("preview", exact=True)).to_be_visible()
    page.set_viewport_size({"width": 1600, "height": 1150})
    page.get_by_text("Columns", exact=True).evaluate("heading => heading.scrollIntoView()")
    screenshot(page, "gold-mart.png")


def test_a_backfill_from_the_partition_dialog_materializes_the_days(
    page: Page, first_load: DagsterDev
) -> None:
    days = f"[{BACKFILL[0]}...{BACKFILL[1]}]"
    page.goto(f"/assets/{DAILY_MART.to_user_string()}")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize…$")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Show all partitions").click()  # the dialog opens on the last 90 days
    selection = dialog.get_by_placeholder(re.compile(r"^ex: "))
    selection.fill(days)
    selection.press("Enter")
    expect(dialog.get_by_text("7 partitions", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Launch backfill").click()
    page.get_by_role("link", name="View", exact=True).click()  # the "Created backfill" toast
    expect(page).to_have_url(re.compile(r"/runs/b/"))
    status = page.locator("div:has(> div:text-is('Status'))")
    expect(status).to_contain_text(re.compile(r"Succeeded|Failed|Cancel"), timeout=RUN_TIMEOUT)
    expect(status).to_contain_text("Succeeded")
    page.set_viewport_size({"width": 1600, "height": 420})
    screenshot(page, "backfill.png")

    page.goto(f"/assets/{DAILY_MART.to_user_string()}?view=partitions")
    shown = page.get_by_placeholder(re.compile(r"^ex: "))
    shown.fill(days)
    shown.press("Enter")
    expect(page.get_by_text("7 Partitions Selected")).to_be_visible()
    expect(page.get_by_text("Materialized (7)")).to_be_visible()
    expect(page.get_by_text("Missing (0)")).to_be_visible()


def test_the_graph_shows_the_layers_every_gold_mart_and_what_each_asset_is(
    page: Page, first_load: DagsterDev, definitions: dg.Definitions
) -> None:
    graph = definitions.resolve_asset_graph()
    page.goto("/asset-groups")
    for layer in ("bronze", "silver", "gold"):
        expect(page.get_by_text(layer, exact=True).first).to_be_visible()
    page.goto(lineage('group:"gold"'))
    marts = [key for key in graph.get_all_asset_keys() if key.path[0] == "gold"]
    assert marts
    for mart in marts:
        expect(page.get_by_text(mart.path[-1], exact=True).first).to_be_visible()

    # wide enough for the mart, its parents and theirs at a zoom that shows descriptions
    page.set_viewport_size({"width": 2560, "height": 2000})
    page.goto(lineage(f'+key:"{DAILY_MART.to_user_string()}"'))
    show_facets(page, {"Description", "Owner", "Asset checks", "Status", "Kind tag", "Partitions"})

    def first_line(key: dg.AssetKey) -> Locator:
        return page.get_by_text((graph.get(key).description or "").splitlines()[0], exact=True)

    expand_all_groups(page, first_line(DAILY_MART))
    for key in graph.get(DAILY_MART).parent_keys:
        expect(first_line(key)).to_be_visible()
    expect(page.get_by_text("data-platform").first).to_be_visible()
    screenshot(page, "asset-graph.png")

    page.goto("/assets/bronze/orders")
    expect(page.get_by_role("link", name=re.compile(r"\blanding_sensor\b")).first).to_be_visible()
