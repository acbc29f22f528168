"""A source that writes a landing file in place, appending in chunks without a rename: the sensor
can list the file half-written, its last line cut. Nothing landed is lost, nothing of a
half-written file is published: silver, quarantine and gold end as the complete file gives."""

import datetime as dt
import hashlib
import os
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from data_platform.catalog.keys import gold_key
from data_platform.catalog.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitions
from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from data_platform.resources.landing_zone import LandingZone
from data_platform.sensors.landing_sensor import build_landing_sensor
from data_platform.simulate.landing_writer import encode
from tests.conftest import (
    NO_LAKE,
    Landing,
    materialize_layers,
    platform_resources,
    read_table,
    tbl_frame,
    tbl_line,
    tbl_orders,
)

DAY = dt.date(1995, 1, 1)
KEYS = list(range(1, 21))
# long enough that a file written "just now" is still settling however slowly the test runs;
# a file made quiet is made so for far longer
SETTLE = 300.0
QUIET = 3600.0
ORDERS = f"orders/{DAY}/orders.tbl"
SENSOR = build_landing_sensor(daily_partitions())


def complete(fmt: str) -> bytes:
    """The whole orders file the source writes: 20 orders of customer 1 (Germany)."""
    return encode("orders", tbl_frame("orders", tbl_orders(*KEYS, day=DAY, customer=1)), fmt)


def cut(content: bytes) -> int:
    """A cut in the middle of the file and of a line: a chunk boundary of the writer."""
    return content.index(b"\n", len(content) // 2) - 3


def last_written(path: Path, seconds_ago: float) -> None:
    """As if the writer's last write to `path` was `seconds_ago` (its time passing)."""
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))


class Platform:
    """The landing sensor ticking over a landing zone, and its run requests carried out: bronze
    and silver of the requested entities and partitions, as the daemon would."""

    def __init__(self, root: Path, assets: list[dg.AssetsDefinition]) -> None:
        self.root, self.assets = root, assets
        # a settle period no stall of a loaded machine reaches: "just written" stays unsettled
        self.resources = {
            **platform_resources(root),
            "landing_zone": LandingZone(url=str(root / "landing"), settle_seconds=SETTLE),
        }
        self.cursor: str | None = None

    def tick(self) -> dg.SensorResult | dg.SkipReason:
        zone = self.resources["landing_zone"]
        context = dg.build_sensor_context(
            cursor=self.cursor, resources={"landing_zone": zone, "lake": NO_LAKE}
        )
        result = SENSOR(context)
        assert isinstance(result, dg.SensorResult | dg.SkipReason)
        if isinstance(result, dg.SensorResult):
            self.cursor = result.cursor or self.cursor
            for request in result.run_requests or []:
                self.run(request)
        return result

    def run(self, request: dg.RunRequest) -> None:
        tags = request.tags
        span = (tags[RANGE_START_TAG], tags[RANGE_END_TAG]) if RANGE_START_TAG in tags else None
        for key in request.asset_selection or []:
            self.last = materialize_layers(
                self.assets, self.resources, key.path[-1], partition_range=span
            )

    def gold(self) -> list[tuple[object, ...]]:
        mart = gold_key("daily_revenue_by_nation")
        selected = [a for a in self.assets if mart in a.keys]
        built = dg.materialize(
            selected, resources=self.resources, partition_key=DAY.isoformat(), selection=[mart]
        )
        assert built.success
        with duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True) as connection:
            return connection.sql(
                "select order_date, nation, order_count, revenue"
                " from gold.daily_revenue_by_nation order by all"
            ).fetchall()

    def table(self, layer: str) -> pl.DataFrame:
        if not (self.root / "lake" / layer / "orders").exists():
            return pl.DataFrame()
        found = read_table(self.root / "lake", layer, "orders")
        return found.filter(pl.col(lin.BUSINESS_DATE) == DAY)


@pytest.fixture
def platform(
    tmp_path: Path, landing: Landing, platform_assets: list[dg.AssetsDefinition]
) -> Platform:
    """Dimensions and the day's line items landed whole, long ago, and taken in; the orders file
    not yet written."""
    landing.drop("nation/1995-01-01/n.tbl", "1|GERMANY|0|c|\n")
    landing.drop("customer/1995-01-01/c.tbl", "1|Customer#1|addr|1|phone|1.00|BUILDING|c|\n")
    landing.drop(f"lineitem/{DAY}/l.tbl", "".join(tbl_line(k, DAY) + "\n" for k in KEYS))
    platform = Platform(tmp_path, platform_assets)
    platform.tick()
    return platform


def assert_complete_file_published(platform: Platform, fmt: str) -> None:
    """Silver holds every order of the complete file once, as landed; quarantine nothing of it;
    bronze the complete file's rows; gold the day's revenue from all of them."""
    columns = entity_named("orders").column_names
    silver = platform.table("silver").sort("o_orderkey")
    assert silver["o_orderkey"].to_list() == KEYS
    landed = tbl_frame("orders", tbl_orders(*KEYS, day=DAY, customer=1))
    assert silver.select(pl.col(c).cast(pl.String) for c in columns).equals(landed)
    assert platform.table("quarantine").height == 0
    bronze = platform.table("bronze")
    assert bronze.height == len(KEYS)
    assert bronze[lin.LAYOUT_ERROR].null_count() == len(KEYS)
    fingerprint = hashlib.sha256(complete(fmt)).hexdigest()
    assert set(bronze[lin.FILE_FINGERPRINT]) == {fingerprint}
    reconciled = [
        check
        for check in platform.last.get_asset_check_evaluations()
        if check.check_name == "reconciliation"
    ]
    assert reconciled
    assert all(check.passed for check in reconciled)
    assert platform.gold() == [(DAY, "GERMANY", len(KEYS), Decimal("47.50") * len(KEYS))]


@pytest.mark.parametrize("fmt", ["tbl", "csv"])
def test_a_file_still_being_written_is_read_only_once_complete(
    platform: Platform, landing_dir: Path, fmt: str
) -> None:
    content = complete(fmt)
    path = landing_dir / ORDERS.replace(".tbl", f".{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content[: cut(content)])

    while_written = platform.tick()
    assert platform.table("silver").height == 0, "a half-written file was published"
    assert platform.table("quarantine").height == 0, "a half-written line was quarantined"
    assert isinstance(while_written, dg.SensorResult)
    assert while_written.skip_reason is not None
    assert while_written.skip_reason.skip_message == "waiting for 1 file to settle"

    with path.open("ab") as appending:
        appending.write(content[cut(content) :])
    assert platform.table("silver").height == 0
    last_written(path, seconds_ago=QUIET)
    platform.tick()
    assert_complete_file_published(platform, fmt)


def test_a_writer_stalled_past_the_settle_period_has_its_file_read_again_once_complete(
    platform: Platform, landing_dir: Path
) -> None:
    content = complete("tbl")
    path = landing_dir / ORDERS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content[: cut(content)])
    last_written(path, seconds_ago=QUIET)

    platform.tick()
    # a pause longer than the settle period looks like the end: the cut line is judged, not
    # dropped, until the rest arrives
    reasons = platform.table("quarantine")[lin.REASON].to_list()
    assert reasons == ["truncated_line"]

    with path.open("ab") as appending:
        appending.write(content[cut(content) :])
    growing = platform.tick()
    assert isinstance(growing, dg.SensorResult)
    assert growing.run_requests == []
    last_written(path, seconds_ago=QUIET)
    platform.tick()
    assert_complete_file_published(platform, "tbl")
