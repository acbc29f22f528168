"""The whole SF 0.01 history (2,401 order dates) from landed files to gold, as a backfill runs it.

Gold must equal the oracle: TPC-H's published answers for Q1 and Q5, and DuckDB's computation on
the generated tables for the other marts. Re-running the backfill must change nothing.
"""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_platform.simulate.__main__ import main
from data_platform.simulate.oracle import expected, mismatches
from tests.conftest import read_table

pytestmark = pytest.mark.slow

RANGE = {
    "dagster/asset_partition_range_start": "1992-01-01",
    "dagster/asset_partition_range_end": "1998-08-02",
}
TPCH_SF001_ROWS = {
    "region": 5,
    "nation": 25,
    "part": 2000,
    "supplier": 100,
    "partsupp": 8000,
    "customer": 1500,
    "orders": 15000,
    "lineitem": 60175,
}


def backfill(
    assets: list[dg.AssetsDefinition], resources: dict[str, object], instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """What a backfill of everything does: dimensions, the daily range, then the gold reports."""
    is_gold = [any(k.path[0] == "gold" for k in a.keys) for a in assets]
    dimensions = [
        a for a, gold in zip(assets, is_gold, strict=True) if a.partitions_def is None and not gold
    ]
    daily = [a for a in assets if a.partitions_def is not None]
    reports = [
        a for a, gold in zip(assets, is_gold, strict=True) if a.partitions_def is None and gold
    ]
    assert dg.materialize(dimensions, resources=resources, instance=instance).success
    assert dg.materialize(daily, resources=resources, tags=RANGE, instance=instance).success
    result = dg.materialize(reports, resources=resources, instance=instance)
    assert result.success
    return result


def gold_tables(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        names = [
            r[0]
            for r in connection.sql(
                "select table_name from information_schema.tables where table_schema = 'gold'"
            ).fetchall()
        ]
        return {
            name: sorted(connection.sql(f"select * from gold.{name}").fetchall(), key=str)
            for name in names
        }


def test_full_history_reaches_correct_gold_and_a_rerun_changes_nothing(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing_dir: Path,
    lake_dir: Path,
    warehouse_path: Path,
    local_instance: dg.DagsterInstance,
) -> None:
    assert main(["--sf", "0.01", "--out", str(landing_dir), "--formats", "tbl,csv,parquet"]) == 0
    reports = backfill(platform_assets, resources, local_instance)

    assert {e: read_table(lake_dir, "silver", e).height for e in TPCH_SF001_ROWS} == TPCH_SF001_ROWS
    assert all(read_table(lake_dir, "quarantine", e).height == 0 for e in TPCH_SF001_ROWS)
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        assert mismatches(connection, expected(0.01)) == []
    first = gold_tables(warehouse_path)
    shown = {
        e.asset_key.path[-1]: e.materialization.metadata["dagster/row_count"].value
        for e in reports.get_asset_materialization_events()
    }
    assert shown == {name: len(first[name]) for name in shown}
    assert set(shown) == {"pricing_summary", "local_supplier_volume", "customer_lifetime_value"}

    backfill(platform_assets, resources, local_instance)
    assert {e: read_table(lake_dir, "silver", e).height for e in TPCH_SF001_ROWS} == TPCH_SF001_ROWS
    assert gold_tables(warehouse_path) == first
