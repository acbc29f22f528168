"""The quality mart: landed days through bronze and silver, then the quality assets into their
own DuckDB file, read back with DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_platform import settings
from data_platform.assets.quality import CHECK_OUTCOMES, DAILY_QUALITY, QUARANTINE_REASONS
from data_platform.profiles import production
from data_platform.resources.warehouse import Warehouse
from tests.conftest import Bucket, Landing, layer_assets, platform_resources, tbl_orders

DAY_ONE, DAY_TWO = "1995-01-01", "1995-01-02"
QUALITY_KEYS = [DAILY_QUALITY, QUARANTINE_REASONS, CHECK_OUTCOMES]


@pytest.fixture
def quality_file(tmp_path: Path) -> Path:
    return tmp_path / "data_quality.duckdb"


@pytest.fixture
def run_resources(tmp_path: Path, landing_dir: Path) -> dict[str, object]:
    return platform_resources(tmp_path)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """One instance for every run of a test: the quality step reads the checks' history."""
    return dg.DagsterInstance.ephemeral()


def land_and_measure(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    instance: dg.DagsterInstance,
    day: str,
) -> dg.ExecuteInProcessResult:
    """Bronze and silver of orders for the day, then the quality assets for it."""
    layers = dg.materialize(
        layer_assets(platform_assets, "orders"),
        resources=resources,
        partition_key=day,
        instance=instance,
    )
    assert layers.success
    quality = dg.materialize(
        platform_assets,
        selection=QUALITY_KEYS,
        resources=resources,
        partition_key=day,
        instance=instance,
    )
    assert quality.success
    return quality


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_figures_per_file_and_reason_equal_what_landed(
    platform_assets: list[dg.AssetsDefinition],
    run_resources: dict[str, object],
    instance: dg.DagsterInstance,
    landing: Landing,
    quality_file: Path,
) -> None:
    bad = tbl_orders(4, price="12x") + tbl_orders(5, price="1.2.3") + "6|7|O|\n"
    landing.drop(f"orders/{DAY_ONE}/a.tbl", tbl_orders(1, 2, 3) + bad)
    landing.drop(f"orders/{DAY_ONE}/b.tbl", tbl_orders(2, 7))
    result = land_and_measure(platform_assets, run_resources, instance, DAY_ONE)

    assert query(
        quality_file,
        "select source_file, rows_landed, rows_current, rows_quarantined, rows_replaced"
        " from quality.daily_quality where entity = 'orders' order by source_file",
    ) == [
        (f"orders/{DAY_ONE}/a.tbl", 6, 2, 3, 1),
        (f"orders/{DAY_ONE}/b.tbl", 2, 2, 0, 0),
    ]
    assert query(
        quality_file,
        "select source_file, reason, rows from quality.quarantine_reasons"
        " where entity = 'orders' order by reason",
    ) == [
        (f"orders/{DAY_ONE}/a.tbl", "bad_number", 2),
        (f"orders/{DAY_ONE}/a.tbl", "wrong_field_count", 1),
    ]
    figures = result.asset_materializations_for_node("quality_history")[0].metadata
    assert figures["rows_landed"] == dg.IntMetadataValue(8)
    assert figures["quarantine_rate"] == dg.FloatMetadataValue(3 / 8)


def test_the_tables_have_the_columns_the_ui_documents(
    platform_assets: list[dg.AssetsDefinition],
    run_resources: dict[str, object],
    instance: dg.DagsterInstance,
    landing: Landing,
    quality_file: Path,
) -> None:
    landing.drop(f"orders/{DAY_ONE}/a.tbl", tbl_orders(1) + tbl_orders(2, price="x"))
    land_and_measure(platform_assets, run_resources, instance, DAY_ONE)
    quality = next(a for a in platform_assets if DAILY_QUALITY in a.keys)
    for key in QUALITY_KEYS:
        schema = quality.metadata_by_key[key]["dagster/column_schema"]
        declared = [(column.name, column.type) for column in schema.columns]
        described = query(quality_file, f"describe {key.path[0]}.{key.path[1]}")
        assert [(row[0], row[1]) for row in described] == declared, key


def test_a_second_day_keeps_the_first_days_figures(
    platform_assets: list[dg.AssetsDefinition],
    run_resources: dict[str, object],
    instance: dg.DagsterInstance,
    landing: Landing,
    quality_file: Path,
) -> None:
    landing.drop(f"orders/{DAY_ONE}/a.tbl", tbl_orders(1, 2) + tbl_orders(3, price="x"))
    land_and_measure(platform_assets, run_resources, instance, DAY_ONE)
    landing.drop(f"orders/{DAY_TWO}/a.tbl", tbl_orders(4, day=DAY_TWO))
    land_and_measure(platform_assets, run_resources, instance, DAY_TWO)
    land_and_measure(platform_assets, run_resources, instance, DAY_TWO)

    assert query(
        quality_file,
        "select business_date, rows_landed, rows_quarantined from quality.daily_quality"
        " order by business_date",
    ) == [(dt.date(1995, 1, 1), 3, 1), (dt.date(1995, 1, 2), 1, 0)]
    rates = query(
        quality_file,
        "select business_date, sum(rows_quarantined) / sum(rows_landed) from"
        " quality.daily_quality group by business_date order by business_date",
    )
    assert rates == [(dt.date(1995, 1, 1), pytest.approx(1 / 3)), (dt.date(1995, 1, 2), 0.0)]


def test_a_failing_check_shows_for_its_day(
    platform_assets: list[dg.AssetsDefinition],
    run_resources: dict[str, object],
    instance: dg.DagsterInstance,
    landing: Landing,
    quality_file: Path,
) -> None:
    landing.drop(f"orders/{DAY_ONE}/a.tbl", tbl_orders(1) + tbl_orders(2, price="x"))
    landing.drop(f"orders/{DAY_TWO}/a.tbl", tbl_orders(3, day=DAY_TWO))
    result = land_and_measure(platform_assets, run_resources, instance, DAY_ONE)
    land_and_measure(platform_assets, run_resources, instance, DAY_TWO)

    outcomes = query(
        quality_file,
        "select business_date, passed, severity from quality.check_outcomes"
        " where asset = 'silver/orders' and check_name = 'quarantine_rate'"
        " order by business_date",
    )
    assert outcomes == [(dt.date(1995, 1, 1), False, "ERROR"), (dt.date(1995, 1, 2), True, "WARN")]
    assert query(
        quality_file,
        "select count(*) from quality.check_outcomes"
        f" where business_date = '{DAY_ONE}' and asset = 'silver/orders'"
        " and check_name in ('contract', 'primary_key_unique', 'reconciliation') and passed",
    ) == [(3,)]
    checks = result.asset_materializations_for_node("quality_history")
    failing = next(m for m in checks if m.asset_key == CHECK_OUTCOMES).metadata["checks_failing"]
    assert failing == dg.IntMetadataValue(1)


def test_the_production_profile_keeps_the_history_in_a_ducklake(
    platform_assets: list[dg.AssetsDefinition],
    run_resources: dict[str, object],
    instance: dg.DagsterInstance,
    landing: Landing,
    s3_bucket: Bucket,
    catalog: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new catalog, on S3: dagster-duckdb's IO manager writes it as it writes a file."""
    monkeypatch.setenv(settings.GOLD_CATALOG, catalog)
    monkeypatch.setenv(settings.GOLD_DATA_PATH, s3_bucket.url("gold/"))
    resources = {**run_resources, "quality_io_manager": production.quality_io_manager()}
    landing.drop(f"orders/{DAY_ONE}/a.tbl", tbl_orders(1, 2) + tbl_orders(3, price="x"))
    landing.drop(f"orders/{DAY_TWO}/a.tbl", tbl_orders(4, day=DAY_TWO))
    for day in (DAY_ONE, DAY_TWO):
        land_and_measure(platform_assets, resources, instance, day)

    gold = Warehouse(lake_dir="unused", catalog=catalog, data_path=s3_bucket.url("gold/"))
    with gold.connect() as reader:
        rows = reader.execute(
            "select business_date, rows_landed, rows_quarantined"
            " from warehouse.quality.daily_quality order by business_date"
        ).fetchall()
    assert rows == [(dt.date(1995, 1, 1), 3, 1), (dt.date(1995, 1, 2), 1, 0)]
    objects = s3_bucket.keys()
    assert any(key.startswith("gold/quality/daily_quality/") for key in objects)
