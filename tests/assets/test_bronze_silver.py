"""Landed files through the real bronze and silver assets into Delta tables under tmp_path."""

import datetime as dt
import gzip
import io
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from data_platform import settings
from data_platform.contracts import lineage as lin
from data_platform.jobs.lake_maintenance import lake_maintenance_job
from data_platform.profiles import common
from data_platform.simulate.landing_writer import LandingWriter
from tests.conftest import (
    Bucket,
    Landing,
    materialize_layers,
    platform_resources,
    read_table,
    tbl_frame,
    tbl_order,
    tbl_orders,
)


def silver_orders(lake: Path) -> list[tuple[object, ...]]:
    frame = read_table(lake, "silver", "orders").sort("o_orderkey")
    return frame.select("o_orderkey", "o_totalprice", lin.BUSINESS_DATE).rows()


def test_partition_materialized_twice_leaves_what_once_does(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1, 2) + "3|bad|\n")
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    once = {
        layer: read_table(lake_dir, layer, "orders").drop(lin.INGESTED_AT)
        for layer in ("bronze", "silver", "quarantine")
    }
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    for layer, frame in once.items():
        again = read_table(lake_dir, layer, "orders").drop(lin.INGESTED_AT)
        assert again.sort(lin.SOURCE_LINE).equals(frame.sort(lin.SOURCE_LINE)), layer


def test_other_partitions_are_left_alone(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1))
    landing.drop("orders/1995-01-02/a.tbl", tbl_orders(2, day="1995-01-02"))
    materialize_layers(
        platform_assets, resources, "orders", partition_range=("1995-01-01", "1995-01-02")
    )
    landing.drop("orders/1995-01-02/b.tbl", tbl_orders(3, day="1995-01-02"))
    materialize_layers(platform_assets, resources, "orders", "1995-01-02")
    assert [key for key, _, _ in silver_orders(lake_dir)] == [1, 2, 3]


def test_redelivered_file_counts_once_downstream(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1, 2))
    landing.drop("orders/1995-01-01/a resent.tbl", tbl_orders(1, 2))
    result = materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    assert read_table(lake_dir, "bronze", "orders").height == 4
    assert [key for key, _, _ in silver_orders(lake_dir)] == [1, 2]
    silver_event = result.asset_materializations_for_node("silver_orders")[0]
    assert silver_event.metadata["rows_redelivered"] == dg.IntMetadataValue(2)


def test_correction_and_delete_landing_later_update_the_day(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/day.tbl", tbl_orders(1, 2, 3))
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    correction = (
        "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,"
        "o_clerk,o_shippriority,o_comment,_op,_changed_at\n"
        "2,7,O,222.22,1995-01-01,1-URGENT,Clerk#1,0,fixed,U,2024-05-01T10:00:00Z\n"
        "3,,,,,,,,,D,2024-05-01T10:00:00Z\n"
    )
    landing.drop("orders/1995-01-01/corrections 2024-05-01.csv", correction)
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    assert [(key, price) for key, price, _ in silver_orders(lake_dir)] == [
        (1, Decimal("100.00")),
        (2, Decimal("222.22")),
    ]


def test_untypable_rows_land_in_quarantine_with_reason_file_and_line(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    content = (
        tbl_orders(1) + tbl_orders(2, price="12x") + "3|7|O|\n" + tbl_orders(4, day="1995-02-31")
    )
    landing.drop(
        "orders/1995-01-01/bad.tbl", content.encode() + b"5|7|O|1.00|1995-01-01|\xff|c|0|x|\n"
    )
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    quarantine = read_table(lake_dir, "quarantine", "orders").sort(lin.SOURCE_LINE)
    assert quarantine.select(lin.REASON, lin.SOURCE_FILE, lin.SOURCE_LINE).rows() == [
        ("bad_number", "orders/1995-01-01/bad.tbl", 2),
        ("wrong_field_count", "orders/1995-01-01/bad.tbl", 3),
        ("bad_date", "orders/1995-01-01/bad.tbl", 4),
        ("invalid_utf8", "orders/1995-01-01/bad.tbl", 5),
    ]
    assert [key for key, _, _ in silver_orders(lake_dir)] == [1]


def test_every_format_lands_the_same_silver_rows(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    def day_frame(day: str, *keys: int) -> pl.DataFrame:
        return tbl_frame("orders", tbl_orders(*keys, day=day))

    csv_frame = day_frame("1995-01-02", 3, 4)
    csv_text = csv_frame.select(reversed(csv_frame.columns)).write_csv().replace("\n", "\r\n")
    parquet = io.BytesIO()
    day_frame("1995-01-03", 5, 6).write_parquet(parquet)
    landing.drop("orders/1995-01-01/plain.tbl", tbl_orders(1, 2))
    landing.drop("orders/1995-01-02/Bestellungen März.csv", "\ufeff" + csv_text)
    landing.drop("orders/1995-01-03/x.parquet", parquet.getvalue())
    landing.drop(
        "orders/1995-01-04/x.tbl.gz", gzip.compress(tbl_orders(7, 8, day="1995-01-04").encode())
    )
    materialize_layers(
        platform_assets, resources, "orders", partition_range=("1995-01-01", "1995-01-04")
    )
    silver = read_table(lake_dir, "silver", "orders")
    per_day = silver.group_by(lin.BUSINESS_DATE).agg(
        pl.col("o_orderkey").sort(), pl.col("o_totalprice").sum()
    )
    assert per_day.sort(lin.BUSINESS_DATE).select("o_orderkey", "o_totalprice").rows() == [
        ([1, 2], Decimal("200.00")),
        ([3, 4], Decimal("200.00")),
        ([5, 6], Decimal("200.00")),
        ([7, 8], Decimal("200.00")),
    ]


def test_files_off_contract_are_passed_over_and_reported(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1))
    landing.drop("orders/1995-01-01/notes.xlsx", "x")
    landing.drop("orders/1995-13-01/a.tbl", tbl_orders(2))
    landing.drop("orders/1995-01-01/.a.tbl.tmp", tbl_orders(3))
    result = materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    bronze_event = result.asset_materializations_for_node("bronze__orders")[0]
    assert bronze_event.metadata["files_passed_over"] == dg.IntMetadataValue(2)
    assert [key for key, _, _ in silver_orders(lake_dir)] == [1]


def test_dimension_extracts_merge_across_dates(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("region/1995-01-01/region.tbl", "0|AFRICA|a|\n1|AMERICA|b|\n")
    landing.drop("region/1995-06-01/region.tbl", "1|AMERICAS|renamed|\n2|ASIA|c|\n")
    materialize_layers(platform_assets, resources, "region")
    silver = read_table(lake_dir, "silver", "region").sort("r_regionkey")
    assert silver.select("r_regionkey", "r_name").rows() == [
        (0, "AFRICA"),
        (1, "AMERICAS"),
        (2, "ASIA"),
    ]


def test_lineitem_of_an_unknown_order_stays_in_silver(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    line = "999|1|1|1|1.00|10.00|0.01|0.02|N|O|1995-01-05|1995-02-10|1995-01-12|NONE|AIR|c|\n"
    landing.drop("lineitem/1995-01-01/l.tbl", line)
    materialize_layers(platform_assets, resources, "lineitem", "1995-01-01")
    assert read_table(lake_dir, "silver", "lineitem")["l_orderkey"].to_list() == [999]


def test_range_run_reports_each_days_own_row_count(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1, 2))
    landing.drop("orders/1995-01-03/a.tbl", tbl_orders(3, day="1995-01-03"))
    result = materialize_layers(
        platform_assets, resources, "orders", partition_range=("1995-01-01", "1995-01-03")
    )
    counts = {
        event.partition: event.metadata["dagster/row_count"]
        for event in result.asset_materializations_for_node("silver_orders")
        if event.asset_key == dg.AssetKey(["silver", "orders"])
    }
    assert counts == {
        "1995-01-01": dg.IntMetadataValue(2),
        "1995-01-02": dg.IntMetadataValue(0),
        "1995-01-03": dg.IntMetadataValue(1),
    }


def test_an_s3_landing_zone_gives_the_same_silver_and_quarantine_as_a_local_folder(
    platform_assets: list[dg.AssetsDefinition],
    s3_bucket: Bucket,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(settings.LANDING_DIR, s3_bucket.url("landing"))
    day, next_day = dt.date(1995, 1, 1), dt.date(1995, 1, 2)
    corrections = pl.read_csv(
        io.StringIO(
            "o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority,"
            "o_clerk,o_shippriority,o_comment,_op,_changed_at\n"
            "2,7,O,222.22,1995-01-01,1-URGENT,Clerk#1,0,fixed,U,2024-05-01T10:00:00Z\n"
            "3,,,,,,,,,D,2024-05-01T10:00:00Z\n"
        ),
        infer_schema=False,
    )
    second_day = tbl_orders(4, day=next_day) + tbl_order(5, next_day, price="12x") + "\n"
    local, remote = tmp_path / "local", tmp_path / "s3"
    for root in (str(local / "landing"), s3_bucket.url("landing")):
        LandingWriter(root).land("orders", day, tbl_frame("orders", tbl_orders(1, 2, 3)), "tbl")
        LandingWriter(root).land("orders", next_day, tbl_frame("orders", second_day), "parquet")
        LandingWriter(root, compress=True).land("orders", day, corrections, "csv", "fixes")
    window = (day.isoformat(), next_day.isoformat())
    materialize_layers(platform_assets, platform_resources(local), "orders", partition_range=window)
    from_s3 = {**platform_resources(remote), "landing_zone": common.landing_zone()}
    materialize_layers(platform_assets, from_s3, "orders", partition_range=window)

    def table(root: Path, layer: str) -> pl.DataFrame:
        frame = read_table(root / "lake", layer, "orders")
        landed_when = [lin.INGESTED_AT, lin.FILE_LANDED_AT]
        return frame.drop(landed_when, strict=False).sort("o_orderkey")

    assert table(remote, "silver").select("o_orderkey", "o_totalprice").rows() == [
        (1, Decimal("100.00")),
        (2, Decimal("222.22")),
        (4, Decimal("100.00")),
    ]
    assert table(remote, "quarantine").select(lin.REASON, lin.SOURCE_FILE).rows() == [
        ("bad_number", "orders/1995-01-02/orders_1995-01-02.parquet")
    ]
    for layer in ("silver", "quarantine"):
        assert table(remote, layer).equals(table(local, layer)), layer


def test_a_lake_on_s3_replaces_a_partition_and_keeps_the_others(
    platform_assets: list[dg.AssetsDefinition],
    s3_bucket: Bucket,
    monkeypatch: pytest.MonkeyPatch,
    landing: Landing,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv(settings.LAKE_DIR, s3_bucket.url("lake"))
    on_s3 = {
        **platform_resources(tmp_path),
        "lake_io_manager": common.lake_io_manager(),
        "lake": common.lake(),
    }
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1, 2) + "3|bad|\n")
    landing.drop("orders/1995-01-02/a.tbl", tbl_orders(4, day="1995-01-02"))
    for day in ("1995-01-02", "1995-01-01"):
        materialize_layers(platform_assets, on_s3, "orders", day)
    landing.drop("orders/1995-01-01/fix.tbl", tbl_orders(2, price="222.22"))
    materialize_layers(platform_assets, on_s3, "orders", "1995-01-01")

    silver_key = dg.AssetKey(["silver", "orders"])
    quarantine_key = dg.AssetKey(["quarantine", "orders"])
    with dg.build_resources({"lake": common.lake()}) as built:
        silver = built.lake.scan(silver_key).collect().sort("o_orderkey")
        quarantine = built.lake.scan(quarantine_key).collect()
        [(_, written)] = built.lake.tables([silver_key])
        assert len(written.file_uris()) > 1
    assert silver.select("o_orderkey", "o_totalprice").rows() == [
        (1, Decimal("100.00")),
        (2, Decimal("222.22")),
        (4, Decimal("100.00")),
    ]
    assert quarantine.select(lin.REASON, lin.SOURCE_FILE, lin.SOURCE_LINE).rows() == [
        ("wrong_field_count", "orders/1995-01-01/a.tbl", 3)
    ]

    assert lake_maintenance_job.execute_in_process(resources={"lake": common.lake()}).success
    with dg.build_resources({"lake": common.lake()}) as built:
        [(_, compacted)] = built.lake.tables([silver_key])
        assert len(compacted.file_uris()) == 1
        assert built.lake.scan(silver_key).collect().sort("o_orderkey").equals(silver)


def test_a_range_worked_on_in_many_slices_gives_what_one_slice_gives(
    platform_assets: list[dg.AssetsDefinition],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def land(root: Path) -> None:
        landing = Landing(root / "landing")
        for offset in range(6):
            day = dt.date(1995, 1, 1) + dt.timedelta(days=offset)
            landing.drop(
                f"orders/{day}/a.tbl", tbl_orders(10 * offset + 1, 10 * offset + 2, day=day)
            )
        landing.drop("orders/1995-01-03/broken.tbl", "not|an|order|\n")

    tables = []
    for name, budget in (("one", None), ("many", 1)):
        root = tmp_path / name
        land(root)
        budgets = {
            "bronze__orders": {"config": {"slice_bytes": budget}},
            "silver_orders": {"config": {"slice_rows": budget}},
        }
        materialize_layers(
            platform_assets,
            platform_resources(root),
            "orders",
            partition_range=("1995-01-01", "1995-01-06"),
            run_config={"ops": budgets} if budget else None,
        )
        lake = root / "lake"
        tables.append(
            (
                silver_orders(lake),
                read_table(lake, "quarantine", "orders").select(lin.REASON, lin.SOURCE_FILE).rows(),
            )
        )
    assert tables[0] == tables[1]
    assert len(tables[0][0]) == 12
