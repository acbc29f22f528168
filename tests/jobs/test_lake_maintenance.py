"""Compaction folds a month's daily files into one without changing the data."""

from pathlib import Path

import dagster as dg
from deltalake import DeltaTable

from data_platform.jobs.lake_maintenance import lake_maintenance_job
from tests.conftest import Landing, materialize_layers, read_table, tbl_orders


def test_compaction_leaves_one_file_per_month_and_the_same_rows(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    days = ["1995-01-01", "1995-01-02", "1995-01-03", "1995-02-01"]
    for number, day in enumerate(days):
        landing.drop(f"orders/{day}/o.tbl", tbl_orders(number, day=day))
        materialize_layers(platform_assets, resources, "orders", day)
    table = DeltaTable(str(lake_dir / "silver" / "orders"))
    assert len(table.file_uris()) == 4
    before = read_table(lake_dir, "silver", "orders").sort("o_orderkey")

    result = lake_maintenance_job.execute_in_process(resources={"lake": resources["lake"]})
    assert result.success

    table = DeltaTable(str(lake_dir / "silver" / "orders"))
    months = {uri.split("_lake_month=")[1][:7] for uri in table.file_uris()}
    assert len(table.file_uris()) == 2
    assert months == {"1995-01", "1995-02"}
    after = read_table(lake_dir, "silver", "orders").sort("o_orderkey")
    assert after.equals(before)
