"""The local profile's instance (config/local/dagster.yaml) records every partition of a range."""

from pathlib import Path

import dagster as dg
import pytest

from data_platform.compat import PooledSqliteEventLogStorage
from tests.conftest import local_dagster_home

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-04-01")


CHECK = dg.AssetCheckKey(dg.AssetKey("daily"), "non_empty")


@dg.asset(
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec(CHECK.name, asset=CHECK.asset_key, partitions_def=DAYS)],
)
def daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:  # type: ignore[type-arg]
    context.log.info(f"{len(context.partition_keys)} days")
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(passed=True)])


@pytest.fixture(params=["one by one", "batched"])
def dagster_home(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    batch_size = "1000" if request.param == "batched" else None
    return local_dagster_home(tmp_path, monkeypatch, batch_size)


def test_range_run_is_recorded_for_every_partition(dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = dg.materialize(
            [daily],
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2024-01-01",
                "dagster/asset_partition_range_end": "2024-03-31",
            },
        )
        assert result.success
    # a second process (the webserver, the daemon) sees what the run wrote
    with dg.DagsterInstance.get() as reader:
        keys = reader.get_materialized_partitions(dg.AssetKey("daily"))
        assert keys == set(DAYS.get_partition_keys())
        latest = reader.get_latest_materialization_event(dg.AssetKey("daily"))
        assert latest is not None
        assert latest.run_id == result.run_id
        records = reader.fetch_materializations(dg.AssetKey("daily"), limit=1000).records
        assert len(records) == len(DAYS.get_partition_keys())
        assert reader.get_run_by_id(result.run_id).is_success  # type: ignore[union-attr]
        assert (dagster_home / "history" / "runs" / "index.db").exists()
        # what the run planned is known per partition: the UI's in-progress and failed days
        planned = reader.event_log_storage.get_latest_planned_materialization_info(
            dg.AssetKey("daily"), partition="2024-02-15"
        )
        assert planned is not None
        assert planned.run_id == result.run_id
        # the check, planned for each day of the range, and its result (for the run as a whole,
        # as Dagster records a partitioned check's result in a range run)
        history = reader.event_log_storage.get_asset_check_execution_history(CHECK, limit=500)
        assert {e.run_id for e in history} == {result.run_id}
        planned_days = {e.partition for e in history if e.status.value == "PLANNED"}
        assert planned_days == set(DAYS.get_partition_keys())
        assert [e.status.value for e in history if e.partition is None] == ["SUCCEEDED"]


def test_many_runs_keep_a_bounded_number_of_open_databases(dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        for day in DAYS.get_partition_keys()[:12]:
            dg.materialize(
                [daily],
                instance=instance,
                partition_key=day,
            )
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert len(storage._engines) <= 9
        assert len(instance.get_materialized_partitions(dg.AssetKey("daily"))) == 12
