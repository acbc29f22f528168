"""The landing sensor waits for a file to settle: it says so on the tick, never forgets the file,
and requests it once quiet; no run covers a date whose file is still being written."""

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from data_platform import settings
from data_platform.catalog.partitions import RANGE_END_TAG as RANGE_END
from data_platform.catalog.partitions import RANGE_START_TAG as RANGE_START
from data_platform.contracts import ENTITIES
from data_platform.landing.settle import FIRST_LOAD_WAIT_PERIODS
from data_platform.profiles import common
from data_platform.resources.landing_zone import LandingZone
from data_platform.sensors.landing_sensor import (
    FIRST_LOAD_BUSY_SINCE,
    decode_cursor,
    encode_cursor,
)
from tests.conftest import Landing
from tests.sensors.test_landing_sensor import platform_result, ranges
from tests.sensors.test_landing_sensor import tick as tick_zone

# long enough that a file written "just now" is still settling however slowly the test runs;
# a file made quiet is made so for far longer
SETTLE = 300.0
QUIET = 3600.0


def tick(landing_dir: Path, cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    return tick_zone(LandingZone(url=str(landing_dir), settle_seconds=SETTLE), cursor)


def write_now(landing_dir: Path, relative: str, content: str = "x") -> Path:
    """A file written just now, as a writer in the middle of its work leaves it."""
    path = landing_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def quiet_since(path: Path, seconds: float) -> None:
    """As if the writer's last write was `seconds` ago."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_a_file_being_written_is_reported_kept_and_requested_once_quiet(
    landing_dir: Path,
) -> None:
    path = write_now(landing_dir, "orders/1995-01-01/o.tbl")
    first = tick(landing_dir)
    assert isinstance(first, dg.SensorResult)
    assert first.run_requests == []
    assert first.skip_reason is not None
    assert first.skip_reason.skip_message == "waiting for 1 file to settle"

    again = tick(landing_dir, first.cursor)
    assert isinstance(again, dg.SensorResult)
    assert again.run_requests == []

    quiet_since(path, QUIET)
    settled = tick(landing_dir, again.cursor)
    assert ranges(settled) == [("1995-01-01", "1995-01-01", ["orders"])]
    assert isinstance(settled, dg.SensorResult)
    assert isinstance(tick(landing_dir, settled.cursor), dg.SkipReason)


def test_a_run_never_covers_a_date_whose_file_is_settling(
    landing: Landing, landing_dir: Path
) -> None:
    for day in ("1995-01-01", "1995-01-02", "1995-01-03"):
        landing.drop(f"orders/{day}/o.tbl", "x")
    landing.drop("lineitem/1995-01-02/l.tbl", "x")
    write_now(landing_dir, "lineitem/1995-01-02/more.tbl")
    result = tick(landing_dir)
    assert ranges(result) == [
        ("1995-01-01", "1995-01-01", ["orders"]),
        ("1995-01-03", "1995-01-03", ["orders"]),
    ]
    quiet_since(landing_dir / "lineitem/1995-01-02/more.tbl", QUIET)
    assert isinstance(result, dg.SensorResult)
    assert ranges(tick(landing_dir, result.cursor)) == [
        ("1995-01-02", "1995-01-02", ["lineitem", "orders"])
    ]


def test_a_file_settling_beside_a_run_is_not_lost(landing: Landing, landing_dir: Path) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    path = write_now(landing_dir, "orders/1995-03-01/o.tbl")
    first = tick(landing_dir)
    assert ranges(first) == [("1995-01-01", "1995-01-01", ["orders"])]
    quiet_since(path, QUIET)
    assert isinstance(first, dg.SensorResult)
    assert ranges(tick(landing_dir, first.cursor)) == [("1995-03-01", "1995-03-01", ["orders"])]


def test_the_settle_period_is_two_seconds_on_disk_none_on_an_object_store_or_as_set(
    landing_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert LandingZone(url=str(landing_dir)).settle_period() == 2.0
    assert LandingZone(url="s3://bucket/landing").settle_period() == 0.0
    monkeypatch.setenv(settings.LANDING_DIR, str(landing_dir))
    monkeypatch.setenv(settings.LANDING_SETTLE, "0.5")
    assert common.landing_zone().settle_period() == 0.5


def first_load_tick(
    landing_dir: Path, lake_dir: Path, cursor: str | None = None
) -> dg.SensorResult | dg.SkipReason:
    """The platform's sensor over an empty lake: no table gold reads exists, a first load."""
    return platform_result(landing_dir, lake_dir, cursor, settle_seconds=SETTLE)


def test_a_first_load_still_landing_waits_whole_and_is_then_one_run(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """A history copied in over a few seconds: the dates quiet on one tick do not leave alone,
    which would make a run per tick and leave the later ranges' gold to automation."""
    for day in ("1995-01-01", "1995-01-02", "1995-01-03"):
        landing.drop(f"orders/{day}/o.tbl", "x")
    for entity in ENTITIES:
        if not entity.partitioned:
            landing.drop(f"{entity.name}/1995-01-01/{entity.name}.tbl", "x")
    path = write_now(landing_dir, "orders/1995-01-05/o.tbl")

    first = first_load_tick(landing_dir, lake_dir)
    assert isinstance(first, dg.SensorResult)
    assert first.run_requests == []
    quiet_since(path, QUIET)
    (run,) = first_load_tick(landing_dir, lake_dir, first.cursor).run_requests or []  # type: ignore[union-attr]
    assert (run.tags[RANGE_START], run.tags[RANGE_END]) == ("1995-01-01", "1995-01-05")
    assert dg.AssetKey(["silver", "customer"]) in (run.asset_selection or [])


def test_a_first_load_that_never_stops_landing_is_read_after_a_while(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    write_now(landing_dir, "orders/1995-01-05/o.tbl")
    first = first_load_tick(landing_dir, lake_dir)
    assert isinstance(first, dg.SensorResult)
    assert first.run_requests == []
    # the zone has been busy for longer than a first load waits
    seen = decode_cursor(first.cursor)
    seen[FIRST_LOAD_BUSY_SINCE] = str(time.time() - (FIRST_LOAD_WAIT_PERIODS + 1) * SETTLE)
    later = first_load_tick(landing_dir, lake_dir, encode_cursor(seen))
    assert ranges(later) == [("1995-01-01", "1995-01-01", ["orders"])]
