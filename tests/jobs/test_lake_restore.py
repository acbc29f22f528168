"""An operator rolls silver back after a bad load, and gold rebuilt from it is what it was."""

from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from data_platform.jobs.lake_restore import lake_restore_job
from tests.assets.test_gold import build_daily_gold, build_day, daily_revenue, land_two_days
from tests.conftest import Landing, read_table, tbl_orders


def restore(resources: dict[str, object], **config: object) -> dg.ExecuteInProcessResult:
    return lake_restore_job.execute_in_process(
        resources={"lake": resources["lake"]},
        run_config={"ops": {"restore_lake_table": {"config": config}}},
        raise_on_error=False,
    )


def test_silver_restored_after_a_bad_load_gives_back_the_gold_it_had(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
    warehouse_path: Path,
) -> None:
    land_two_days(landing)
    build_day(platform_assets, resources, "1995-01-01")
    good_silver = read_table(lake_dir, "silver", "orders").sort("o_orderkey")
    good_gold = daily_revenue(warehouse_path)
    good_version = DeltaTable(str(lake_dir / "silver" / "orders")).version()

    # a bad load: a correction that moves order 10 to the other customer (another nation)
    (landing.root / "orders" / "1995-01-01" / "o.tbl").unlink()
    landing.drop("orders/1995-01-01/bad.tbl", tbl_orders(10, 11, customer=2))
    build_day(platform_assets, resources, "1995-01-01")
    assert daily_revenue(warehouse_path) != good_gold

    result = restore(resources, table="silver/orders", version=good_version)
    assert result.success
    # a restore is not a new load: it materializes nothing, gold is rebuilt on purpose
    assert result.asset_materializations_for_node("restore_lake_table") == []
    assert result.output_for_node("restore_lake_table") > good_version  # a new commit
    restored = read_table(lake_dir, "silver", "orders").sort("o_orderkey")
    assert restored.equals(good_silver)
    # the bad version stays in the table's history, for audit
    [last] = DeltaTable(str(lake_dir / "silver" / "orders")).history(limit=1)
    assert last["operation"] == "RESTORE"

    build_daily_gold(platform_assets, resources, "1995-01-01")
    assert daily_revenue(warehouse_path) == good_gold


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"table": "silver/widgets", "version": 0}, "not a lake table"),
        # a dimension's history is a lake table too (not built in this test)
        ({"table": "silver/customer_history", "version": 0}, "no Delta table yet"),
        ({"table": "silver/orders"}, "exactly one of version and as_of"),
        ({"table": "silver/orders", "version": 0, "as_of": "2026-01-01"}, "exactly one"),
    ],
)
def test_a_restore_names_one_lake_table_and_one_target(
    resources: dict[str, object], config: dict[str, object], message: str
) -> None:
    result = restore(resources, **config)
    assert not result.success
    [failure] = result.get_step_failure_events()
    error = failure.step_failure_data.error
    assert error is not None
    assert message in str(error.to_string())
