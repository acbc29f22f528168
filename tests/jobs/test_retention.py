"""Retention: old landed files move to the archive and still rebuild bronze, the sensor passes the
archive by, old quarantine rows go, and the run reports what it removed."""

import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from data_platform import settings
from data_platform.catalog.partitions import daily_partitions
from data_platform.contracts import ENTITIES
from data_platform.contracts import lineage as lin
from data_platform.jobs.retention import build_retention_job
from data_platform.profiles import common
from data_platform.resources.landing_zone import LandingZone
from data_platform.sensors.landing_sensor import build_landing_sensor
from data_platform.simulate.landing_writer import LandingWriter
from tests.conftest import (
    NO_LAKE,
    Bucket,
    Landing,
    materialize_layers,
    platform_resources,
    read_table,
    tbl_frame,
    tbl_orders,
)

NAMES = [entity.name for entity in ENTITIES]


def apply_retention(resources: dict[str, object], **policy: int) -> dict[str, Any]:
    """Run the retention job (with `policy`, or the declared one); its output's metadata."""
    result = build_retention_job().execute_in_process(
        resources={"landing_zone": resources["landing_zone"], "lake": resources["lake"]},
        run_config={"ops": {"apply_retention": {"config": policy}}} if policy else None,
    )
    assert result.success
    [output] = [event for event in result.all_node_events if event.is_successful_output]
    assert output.step_output_data is not None
    return {name: value.value for name, value in output.step_output_data.metadata.items()}


def rows(table: Any) -> list[dict[str, Any]]:
    """A metadata table's rows as dicts."""
    return [dict(record.data) for record in table.records]


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_old_landed_files_move_to_the_archive_and_recent_ones_stay(
    resources: dict[str, object],
    landing: Landing,
    landing_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(settings.RETENTION_LANDING_DAYS, "10")
    landing.drop("orders/1995-01-01/o.tbl", tbl_orders(1))
    landing.drop("orders/1995-01-01/fix.tbl", tbl_orders(1, price="1.00"))
    landing.drop("orders/1995-01-15/o.tbl", tbl_orders(2, day="1995-01-15"))
    landing.drop("orders/1995-02-01/o.tbl", tbl_orders(3, day="1995-02-01"))
    landing.drop("customer/1995-01-01/c.tbl", "x")
    landing.drop("customer/1995-02-01/c.tbl", "x")
    # a late correction to an old date, landed just now: it stays for the window too
    os.utime(landing.drop("orders/1995-01-02/late.tbl", tbl_orders(4, day="1995-01-02")))

    report = apply_retention(resources)

    assert files_under(landing_dir) == [
        "_archive/customer/1995-01-01/c.tbl",
        "_archive/customer/_landed_at.json",
        "_archive/orders/1995-01-01/fix.tbl",
        "_archive/orders/1995-01-01/o.tbl",
        "_archive/orders/1995-01-15/o.tbl",
        "_archive/orders/_landed_at.json",
        "customer/1995-02-01/c.tbl",
        "orders/1995-01-02/late.tbl",
        "orders/1995-02-01/o.tbl",
    ]
    assert not (landing_dir / "orders" / "1995-01-01").exists()
    assert report["landing_files_archived"] == 4
    assert rows(report["archived_files"]) == [
        {"file": "customer/1995-01-01/c.tbl", "archived_to": "_archive/customer/1995-01-01/c.tbl"},
        {"file": "orders/1995-01-01/fix.tbl", "archived_to": "_archive/orders/1995-01-01/fix.tbl"},
        {"file": "orders/1995-01-01/o.tbl", "archived_to": "_archive/orders/1995-01-01/o.tbl"},
        {"file": "orders/1995-01-15/o.tbl", "archived_to": "_archive/orders/1995-01-15/o.tbl"},
    ]
    assert apply_retention(resources)["landing_files_archived"] == 0


def test_the_landing_sensor_and_the_misfit_listing_pass_the_archive_by(
    resources: dict[str, object], landing: Landing, landing_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "x")
    landing.drop("orders/1995-02-01/o.tbl", "x")
    zone = LandingZone(url=str(landing_dir))
    sensor = build_landing_sensor(daily_partitions())

    def tick(cursor: str | None = None) -> dg.SensorResult | dg.SkipReason:
        context = dg.build_sensor_context(
            cursor=cursor, resources={"landing_zone": zone, "lake": NO_LAKE}
        )
        result = sensor(context)
        assert isinstance(result, dg.SensorResult | dg.SkipReason)
        return result

    first = tick()
    assert isinstance(first, dg.SensorResult)
    apply_retention(resources, landing_days=10)
    assert (landing_dir / "_archive" / "orders" / "1995-01-01" / "o.tbl").exists()

    assert isinstance(tick(first.cursor), dg.SkipReason)
    fresh = tick()
    assert isinstance(fresh, dg.SensorResult)
    assert not fresh.asset_events
    ranges = [
        {name: value for name, value in request.tags.items() if "partition_range" in name}
        for request in fresh.run_requests or []
    ]
    assert ranges == [
        {
            "dagster/asset_partition_range_start": "1995-02-01",
            "dagster/asset_partition_range_end": "1995-02-01",
        }
    ]
    assert zone.scan(NAMES).misfits == []


def test_a_file_archived_after_bronze_listed_it_is_still_read(
    landing: Landing, landing_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "as landed")
    zone = LandingZone(url=str(landing_dir))
    [listed] = zone.scan(NAMES, under="orders", archived=True).files
    zone.archive([listed])
    assert zone.read_bytes(listed) == b"as landed"


def test_a_file_landed_again_under_an_archived_name_is_read_instead(
    landing: Landing, landing_dir: Path
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", "first")
    zone = LandingZone(url=str(landing_dir))
    zone.archive(zone.scan(NAMES).files)
    landing.drop("orders/1995-01-01/o.tbl", "rewritten")
    [found] = zone.scan(NAMES, under="orders", archived=True).files
    assert (found.archived, zone.read_bytes(found)) == (False, b"rewritten")


def bronze_and_silver(lake_dir: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The orders of 1995-01-01 in bronze and silver, without when they were read."""
    bronze = read_table(lake_dir, "bronze", "orders").drop(lin.INGESTED_AT)
    silver = read_table(lake_dir, "silver", "orders").drop(lin.INGESTED_AT)
    return (
        bronze.sort(lin.SOURCE_FILE, lin.SOURCE_LINE),
        silver.sort("o_orderkey"),
    )


def test_a_bronze_rebuild_of_an_archived_date_gives_the_same_rows(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    landing_dir: Path,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/o.tbl", tbl_orders(1, 2))
    landing.drop("orders/1995-01-01/fix.tbl", tbl_orders(2, price="222.22"))
    landing.drop("orders/1995-02-01/o.tbl", tbl_orders(3, day="1995-02-01"))
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    before = bronze_and_silver(lake_dir)
    assert before[0].height == 3

    apply_retention(resources, landing_days=10)
    assert not (landing_dir / "orders" / "1995-01-01").exists()
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")

    after = bronze_and_silver(lake_dir)
    assert after[0].equals(before[0])
    assert after[1].equals(before[1])


def test_on_s3_archived_files_keep_their_landing_time_and_rebuild_the_same_bronze(
    platform_assets: list[dg.AssetsDefinition],
    s3_bucket: Bucket,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(settings.LANDING_DIR, s3_bucket.url("landing"))
    resources = {**platform_resources(tmp_path), "landing_zone": common.landing_zone()}
    writer = LandingWriter(s3_bucket.url("landing"))
    day, later = dt.date(1995, 1, 1), dt.date(1995, 1, 2)
    writer.land("orders", day, tbl_frame("orders", tbl_orders(1, 2)), "tbl")
    writer.land("orders", day, tbl_frame("orders", tbl_orders(2, price="9.99")), "parquet", "fix")
    writer.land("orders", later, tbl_frame("orders", tbl_orders(3, day=later)), "tbl")
    materialize_layers(platform_assets, resources, "orders", day.isoformat())
    before = bronze_and_silver(tmp_path / "lake")
    # a copy made in a later second than the landing: the archive must not take its time
    time.sleep(1.1)

    report = apply_retention(resources, landing_days=0)

    assert report["landing_files_archived"] == 2
    assert s3_bucket.keys() == [
        "landing/_archive/orders/1995-01-01/fix.parquet",
        "landing/_archive/orders/1995-01-01/orders_1995-01-01.tbl",
        "landing/_archive/orders/_landed_at.json",
        "landing/orders/1995-01-02/orders_1995-01-02.tbl",
    ]
    copied = s3_bucket.last_modified("landing/_archive/orders/1995-01-01/fix.parquet")
    assert copied not in set(before[0][lin.FILE_LANDED_AT])
    materialize_layers(platform_assets, resources, "orders", day.isoformat())
    after = bronze_and_silver(tmp_path / "lake")
    assert after[0].equals(before[0])
    assert after[1].equals(before[1])


def test_old_quarantine_rows_go_recent_ones_stay_and_their_files_are_vacuumed(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    days = ["1995-01-01", "1995-01-02"]
    for number, day in enumerate(days):
        landing.drop(f"orders/{day}/o.tbl", tbl_orders(number + 1, day=day) + "9|bad|\n")
        materialize_layers(platform_assets, resources, "orders", day)
    assert read_table(lake_dir, "quarantine", "orders").height == 2

    # rows just quarantined stay for the window, whatever their business date
    kept = apply_retention(resources, landing_days=30, quarantine_days=1, delta_hours=0)
    assert kept["quarantine_rows_removed"] == 0
    assert read_table(lake_dir, "quarantine", "orders").height == 2

    report = apply_retention(resources, landing_days=30, quarantine_days=0, delta_hours=0)

    quarantine = read_table(lake_dir, "quarantine", "orders")
    assert quarantine[lin.BUSINESS_DATE].to_list() == [dt.date(1995, 1, 2)]
    assert report["quarantine_rows_removed"] == 1
    assert rows(report["quarantine_tables"]) == [
        {"table": "quarantine/orders", "dated_before": "1995-01-02", "rows_removed": 1}
    ]
    vacuumed = [
        row for row in rows(report["vacuumed_files"]) if row["table"] == "quarantine/orders"
    ]
    assert report["delta_files_vacuumed"] >= len(vacuumed) > 0
    assert not any((lake_dir / "quarantine" / "orders" / row["file"]).exists() for row in vacuumed)
    assert read_table(lake_dir, "silver", "orders").height == 2
