"""The landing sensor: each file processed once, none skipped, few runs, no failed ticks."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from data_platform import settings
from data_platform.catalog.keys import LANDING_ZONE
from data_platform.catalog.partitions import RANGE_END_TAG as RANGE_END
from data_platform.catalog.partitions import RANGE_START_TAG as RANGE_START
from data_platform.catalog.partitions import daily_partitions
from data_platform.contracts import ENTITIES
from data_platform.contracts.history import HISTORY_ENTITIES
from data_platform.definitions import build_definitions
from data_platform.profiles import common
from data_platform.resources.lake import Lake
from data_platform.resources.landing_zone import LandingZone
from data_platform.sensors.landing_sensor import build_landing_sensor
from data_platform.simulate.landing_writer import LandingWriter
from tests.conftest import NO_LAKE, Bucket, Landing, tbl_frame, tbl_line, tbl_orders

SENSOR = build_landing_sensor(daily_partitions())
REPORTS = ["gold/customer_lifetime_value", "gold/local_supplier_volume", "gold/pricing_summary"]


def tick(landing: Path | LandingZone, cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
    zone = LandingZone(url=str(landing)) if isinstance(landing, Path) else landing
    context = dg.build_sensor_context(
        cursor=cursor, resources={"landing_zone": zone, "lake": NO_LAKE}
    )
    result = SENSOR(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def ranges(
    result: dg.SensorResult | dg.SkipReason,
) -> list[tuple[str | None, str | None, list[str]]]:
    assert isinstance(result, dg.SensorResult)
    return sorted(
        (
            r.tags.get(RANGE_START, ""),
            r.tags.get(RANGE_END, ""),
            sorted({k.path[-1] for k in r.asset_selection or []}),
        )
        for r in result.run_requests or []
    )


def test_a_first_load_of_many_days_is_one_range_run_and_one_dimension_run(
    landing: Landing, landing_dir: Path
) -> None:
    for offset in range(400):
        day = dt.date(1992, 1, 1) + dt.timedelta(days=offset)
        landing.drop(f"orders/{day}/o.tbl", "x")
        landing.drop(f"lineitem/{day}/l.tbl", "x")
    landing.drop("customer/1992-01-01/c.tbl", "x")
    assert ranges(tick(landing_dir)) == [
        ("", "", ["customer"]),
        ("1992-01-01", "1993-02-03", ["lineitem", "orders"]),
    ]


def test_nothing_new_is_a_skip_and_each_file_is_requested_once(
    landing: Landing, landing_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    first = tick(landing_dir)
    assert isinstance(first, dg.SensorResult)
    assert isinstance(tick(landing_dir, first.cursor), dg.SkipReason)


def test_a_correction_copied_in_with_an_old_time_is_still_new(
    landing: Landing, landing_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    first = tick(landing_dir)
    assert isinstance(first, dg.SensorResult)
    late = landing.drop("orders/1995-01-01/fix.tbl", "y")
    os.utime(late, (631152000, 631152000))  # 1990: older than anything seen
    assert ranges(tick(landing_dir, first.cursor)) == [("1995-01-01", "1995-01-01", ["orders"])]


def test_a_rewritten_file_is_requested_again(landing: Landing, landing_dir: Path) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    first = tick(landing_dir)
    assert isinstance(first, dg.SensorResult)
    landing.drop("orders/1995-01-01/o.tbl", "longer content")
    assert ranges(tick(landing_dir, first.cursor)) == [("1995-01-01", "1995-01-01", ["orders"])]


def test_an_old_correction_and_todays_files_are_two_small_runs(
    landing: Landing, landing_dir: Path
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    landing.drop("lineitem/1995-01-01/fix.tbl", "x")
    landing.drop(f"orders/{today}/o.tbl", "x")
    assert ranges(tick(landing_dir)) == [
        ("1995-01-01", "1995-01-01", ["lineitem"]),
        (today.isoformat(), today.isoformat(), ["orders"]),
    ]


@pytest.mark.parametrize("days_ahead", [2, 30])
def test_a_file_dated_after_the_last_partition_waits_without_failing_the_tick(
    landing: Landing, landing_dir: Path, days_ahead: int
) -> None:
    future = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days_ahead)
    landing.drop(f"orders/{future}/o.tbl", "x")
    landing.drop("orders/1995-01-01/o.tbl", "x")
    result = tick(landing_dir)
    assert ranges(result) == [("1995-01-01", "1995-01-01", ["orders"])]
    assert isinstance(result, dg.SensorResult)
    again = tick(landing_dir, result.cursor)
    assert isinstance(again, dg.SensorResult)
    assert not again.run_requests


def test_files_in_an_s3_bucket_are_requested_once(
    s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.LANDING_DIR, s3_bucket.url("landing"))
    zone = common.landing_zone()
    writer = LandingWriter(s3_bucket.url("landing"))
    day, two_days_later = dt.date(1995, 1, 1), dt.date(1995, 1, 3)
    writer.land("orders", day, tbl_frame("orders", tbl_orders(1)), "tbl")
    lines = tbl_frame("lineitem", tbl_line(1, two_days_later))
    writer.land("lineitem", two_days_later, lines, "csv")
    writer.land("region", day, tbl_frame("region", "0|AFRICA|a|\n"), "parquet")
    first = tick(zone)
    assert ranges(first) == [
        ("", "", ["region"]),
        ("1995-01-01", "1995-01-03", ["lineitem", "orders"]),
    ]
    assert isinstance(first, dg.SensorResult)
    assert isinstance(tick(zone, first.cursor), dg.SkipReason)
    later = dt.date(1995, 3, 1)
    writer.land("orders", later, tbl_frame("orders", tbl_orders(2, day=later)), "tbl")
    assert ranges(tick(zone, first.cursor)) == [("1995-03-01", "1995-03-01", ["orders"])]


def _misfits(result: dg.SensorResult | dg.SkipReason) -> list[tuple[str, str]] | None:
    """The misfits the tick's observation of the landing zone lists; None without one."""
    if not isinstance(result, dg.SensorResult) or not result.asset_events:
        return None
    [observation] = result.asset_events
    assert isinstance(observation, dg.AssetObservation)
    assert observation.asset_key == LANDING_ZONE
    table = observation.metadata["misfits"]
    assert isinstance(table, dg.TableMetadataValue)
    return [(str(r.data["file"]), str(r.data["reason"])) for r in table.records]


def test_every_misfit_file_is_shown_once_found_and_again_when_the_set_changes(
    landing: Landing, landing_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    landing.drop("stray.csv", "a,b\n")
    landing.drop("widgets/1995-01-01/w.tbl", "w")
    first = tick(landing_dir)
    assert _misfits(first) == [
        ("stray.csv", "not at <entity>/<YYYY-MM-DD>/<file>"),
        ("widgets/1995-01-01/w.tbl", "unknown entity 'widgets'"),
    ]
    assert isinstance(first, dg.SensorResult)
    # the misfits start no run: the one run is the order's
    assert [sorted(k.path[-1] for k in r.asset_selection or []) for r in first.run_requests] == [
        ["orders"]
    ]

    again = tick(landing_dir, first.cursor)
    assert isinstance(again, dg.SkipReason)
    assert "2 misfit files passed over" in (again.skip_message or "")

    (landing_dir / "stray.csv").unlink()
    landing.drop("orders/not-a-date/o.tbl", "x")
    changed = tick(landing_dir, first.cursor)
    assert _misfits(changed) == [
        ("orders/not-a-date/o.tbl", "invalid date folder 'not-a-date'"),
        ("widgets/1995-01-01/w.tbl", "unknown entity 'widgets'"),
    ]
    assert isinstance(changed, dg.SensorResult)
    assert changed.run_requests == []


def platform_result(
    landing_dir: Path, lake_dir: Path, cursor: str | None = None, settle_seconds: float = 0
) -> dg.SensorResult | dg.SkipReason:
    """A tick of the platform's own sensor (its followers, gold's reads) over `lake_dir`."""
    sensor = build_definitions().get_sensor_def("landing_sensor")
    zone = LandingZone(url=str(landing_dir), settle_seconds=settle_seconds)
    lake = Lake(root_uri=str(lake_dir))
    context = dg.build_sensor_context(cursor=cursor, resources={"landing_zone": zone, "lake": lake})
    result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def platform_tick(landing_dir: Path, lake_dir: Path) -> list[dg.RunRequest]:
    result = platform_result(landing_dir, lake_dir)
    assert isinstance(result, dg.SensorResult)
    return list(result.run_requests or [])


def dimensions_built(lake_dir: Path) -> None:
    """Every dimension table the daily gold reads exists (their content does not matter here)."""
    for entity in ENTITIES:
        if not entity.partitioned:
            write_deltalake(str(lake_dir / "silver" / entity.name), pa.table({"x": [1]}))
    for entity in HISTORY_ENTITIES:
        write_deltalake(str(lake_dir / "silver" / f"{entity.name}_history"), pa.table({"x": [1]}))


def test_a_new_day_is_one_run_from_its_files_to_its_gold(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """The landing sensor's run builds what follows bronze too, so a day reaches its gold and
    the reports without a second run launch."""
    dimensions_built(lake_dir)
    landing.drop("orders/1995-03-01/o.tbl", tbl_orders(1, day="1995-03-01"))
    landing.drop("lineitem/1995-03-01/l.tbl", tbl_line(1, "1995-03-01") + "\n")
    (request,) = platform_tick(landing_dir, lake_dir)
    assert {k.to_user_string() for k in request.asset_selection or []} == {
        f"{layer}/{entity}"
        for layer in ("bronze", "silver", "quarantine")
        for entity in ("orders", "lineitem")
    } | {"gold/daily_revenue_by_nation", *REPORTS}


def test_a_first_load_of_one_day_is_one_run_from_its_files_to_its_reports(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """The dimensions land with the days, for the first time: nothing built from them can go
    stale, so they join the days' run, which goes on to gold once it has built them."""
    for entity in ENTITIES:
        day = "1995-03-01" if entity.partitioned else "1995-03-02"
        landing.drop(f"{entity.name}/{day}/{entity.name}.tbl", "x")
    (request,) = platform_tick(landing_dir, lake_dir)
    built = {k.to_user_string() for k in request.asset_selection or []}
    assert {f"silver/{entity.name}" for entity in ENTITIES} <= built
    assert {"silver/customer_history", "gold/daily_revenue_by_nation", *REPORTS} <= built
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("1995-03-01", "1995-03-01")


def test_a_first_load_of_many_days_is_one_run_to_gold_and_leaves_the_reports_to_automation(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """Automation sees that a run built the reports after their inputs only for the latest
    partition it wrote: after a range it would build them again."""
    for entity in ENTITIES:
        days = ("1995-03-01", "1995-03-04") if entity.partitioned else ("1995-03-02",)
        for day in days:
            landing.drop(f"{entity.name}/{day}/{entity.name}.tbl", "x")
    (request,) = platform_tick(landing_dir, lake_dir)
    built = {k.to_user_string() for k in request.asset_selection or []}
    assert {"silver/customer", "gold/daily_revenue_by_nation"} <= built
    assert not built & set(REPORTS)


def test_a_tick_of_several_runs_leaves_the_reports_to_automation(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """Each run would build them again: automation builds them once, after all of them."""
    dimensions_built(lake_dir)
    landing.drop("orders/1995-03-01/o.tbl", tbl_orders(1, day="1995-03-01"))
    landing.drop("orders/1997-06-01/o.tbl", tbl_orders(2, day="1997-06-01"))
    requests = platform_tick(landing_dir, lake_dir)
    assert len(requests) == 2
    for request in requests:
        built = {k.to_user_string() for k in request.asset_selection or []}
        assert "gold/daily_revenue_by_nation" in built
        assert not built & set(REPORTS)


def test_days_landing_before_the_dimensions_are_built_leave_their_gold_to_automation(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """A first load whose daily folders appear on a tick before the dimensions' do: gold would
    read dimension tables that do not exist yet."""
    landing.drop("orders/1995-03-01/o.tbl", tbl_orders(1, day="1995-03-01"))
    (request,) = platform_tick(landing_dir, lake_dir)
    assert sorted(k.to_user_string() for k in request.asset_selection or []) == [
        "bronze/orders",
        "quarantine/orders",
        "silver/orders",
    ]


def test_a_day_landing_with_dimensions_leaves_its_gold_to_automation(
    landing: Landing, landing_dir: Path, lake_dir: Path
) -> None:
    """Gold reads the dimensions, which their own run is still building."""
    dimensions_built(lake_dir)
    landing.drop("orders/1995-03-01/o.tbl", tbl_orders(1, day="1995-03-01"))
    landing.drop("customer/1995-03-01/c.tbl", "7|Customer#7|a|1|p|1.00|BUILDING|c|\n")
    selections = sorted(
        sorted(k.to_user_string() for k in r.asset_selection or [])
        for r in platform_tick(landing_dir, lake_dir)
    )
    assert selections == [
        ["bronze/customer", "quarantine/customer", "silver/customer", "silver/customer_history"],
        ["bronze/orders", "quarantine/orders", "silver/orders"],
    ]
