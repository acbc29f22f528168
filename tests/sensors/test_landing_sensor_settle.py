"""The landing sensor waits for a file to settle: it says so on the tick, never forgets the file,
and requests it once quiet; no run covers a date whose file is still being written."""

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from data_platform import settings
from data_platform.profiles import common
from data_platform.resources.landing_zone import LandingZone
from tests.conftest import Landing
from tests.sensors.test_landing_sensor import ranges
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
