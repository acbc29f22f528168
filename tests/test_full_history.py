"""The whole SF 0.01 history (2,401 order dates) through bronze and silver, as a backfill would."""

from pathlib import Path

import dagster as dg
import pytest

from data_platform.resources.duckdb_extensions import connect
from data_platform.simulate.__main__ import main
from tests.conftest import read_table

pytestmark = pytest.mark.slow

RANGE = {
    "dagster/asset_partition_range_start": "1992-01-01",
    "dagster/asset_partition_range_end": "1998-08-02",
}


def tpch_counts() -> dict[str, int]:
    connection = connect(":memory:", "tpch")
    connection.execute("CALL dbgen(sf=0.01)")
    tables = ("region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem")
    counts = {t: connection.sql(f"select count(*) from {t}").fetchone()[0] for t in tables}  # type: ignore[index]
    connection.close()
    return counts


def test_silver_row_counts_equal_tpch_and_a_rerun_changes_nothing(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing_dir: Path,
    lake_dir: Path,
) -> None:
    assert main(["--sf", "0.01", "--out", str(landing_dir), "--formats", "tbl,csv,parquet"]) == 0
    dimensions = [a for a in platform_assets if a.partitions_def is None]
    daily = [a for a in platform_assets if a.partitions_def is not None]
    assert dg.materialize(dimensions, resources=resources).success
    assert dg.materialize(daily, resources=resources, tags=RANGE).success
    expected = tpch_counts()
    counts = {entity: read_table(lake_dir, "silver", entity).height for entity in expected}
    assert counts == expected
    assert all(read_table(lake_dir, "quarantine", e).height == 0 for e in expected)

    assert dg.materialize(daily, resources=resources, tags=RANGE).success
    assert {
        entity: read_table(lake_dir, "silver", entity).height for entity in expected
    } == expected
