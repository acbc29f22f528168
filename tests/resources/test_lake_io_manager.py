"""The Delta IO manager is right for one partition, a range of partitions and all partitions.

Each of these failed with the stock DeltaLakePolarsIOManager (dagster-deltalake-polars 0.29).
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster_deltalake import LocalConfig

from data_platform.catalog.partitions import RANGE_END_TAG, RANGE_START_TAG
from data_platform.resources.lake_io_manager import LakeIOManager

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")

COLUMN_TYPES = {
    "date": lambda day: day,
    "string": lambda day: day.isoformat(),
    "naive_datetime": lambda day: dt.datetime.combine(day, dt.time()),
    "utc_datetime": lambda day: dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
}


def graph(column_type: str) -> list[dg.AssetsDefinition]:
    as_value = COLUMN_TYPES[column_type]

    @dg.asset(
        key=["bronze", "events"],
        partitions_def=DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "day"},
    )
    def events(context: dg.AssetExecutionContext) -> pl.DataFrame:
        window = context.partition_time_window
        days = pl.date_range(window.start.date(), window.end.date(), closed="left", eager=True)
        frame = pl.DataFrame(
            {"day": [as_value(d) for d in days], "version": context.run.tags.get("version", "1")}
        )
        if "note" in context.run.tags:  # a column a later release of the contract added
            frame = frame.with_columns(note=pl.lit(context.run.tags["note"]))
        return frame

    @dg.asset(key=["silver", "all_events"], ins={"events": dg.AssetIn(["bronze", "events"])})
    def all_events(events: pl.DataFrame) -> pl.DataFrame:
        return events

    @dg.asset(
        key=["silver", "daily_events"],
        partitions_def=DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "day"},
        ins={"events": dg.AssetIn(["bronze", "events"])},
    )
    def daily_events(events: pl.DataFrame) -> pl.DataFrame:
        return events

    return [events, all_events, daily_events]


def run(
    assets: list[dg.AssetsDefinition],
    lake: Path,
    select: str,
    *,
    partition: str | None = None,
    span: tuple[str, str] | None = None,
    version: str = "1",
    note: str | None = None,
) -> None:
    tags = {"version": version} | ({"note": note} if note else {})
    if span:
        tags |= {RANGE_START_TAG: span[0], RANGE_END_TAG: span[1]}
    io_manager = LakeIOManager(root_uri=str(lake), storage_options=LocalConfig())
    result = dg.materialize(
        assets,
        selection=select,
        partition_key=partition,
        tags=tags,
        resources={"io_manager": io_manager},
    )
    assert result.success


def table(lake: Path, name: str) -> list[tuple[str, str]]:
    frame = pl.read_delta(str(lake / name))
    return sorted(
        (str(day)[:10], version) for day, version in frame.select("day", "version").rows()
    )


@pytest.mark.parametrize("column_type", list(COLUMN_TYPES))
def test_partition_write_replaces_only_its_partition(tmp_path: Path, column_type: str) -> None:
    assets = graph(column_type)
    run(assets, tmp_path, "bronze/events", partition="2024-01-01")
    run(assets, tmp_path, "bronze/events", partition="2024-01-02")
    run(assets, tmp_path, "bronze/events", partition="2024-01-01", version="2")
    assert table(tmp_path, "bronze/events") == [("2024-01-01", "2"), ("2024-01-02", "1")]


@pytest.mark.parametrize("column_type", list(COLUMN_TYPES))
def test_unpartitioned_downstream_reads_every_partition(tmp_path: Path, column_type: str) -> None:
    assets = graph(column_type)
    for day in ("2024-01-01", "2024-01-15", "2024-02-29"):
        run(assets, tmp_path, "bronze/events", partition=day)
    run(assets, tmp_path, "silver/all_events")
    assert [day for day, _ in table(tmp_path, "silver/all_events")] == [
        "2024-01-01",
        "2024-01-15",
        "2024-02-29",
    ]


@pytest.mark.parametrize("column_type", list(COLUMN_TYPES))
def test_partition_range_writes_every_day_also_on_an_existing_table(
    tmp_path: Path, column_type: str
) -> None:
    assets = graph(column_type)
    run(assets, tmp_path, "bronze/events", span=("2024-01-30", "2024-02-02"))
    run(assets, tmp_path, "bronze/events", span=("2024-01-31", "2024-02-01"), version="2")
    assert table(tmp_path, "bronze/events") == [
        ("2024-01-30", "1"),
        ("2024-01-31", "2"),
        ("2024-02-01", "2"),
        ("2024-02-02", "1"),
    ]


def test_a_column_the_contract_gained_is_added_to_an_existing_table(tmp_path: Path) -> None:
    assets = graph("date")
    run(assets, tmp_path, "bronze/events", span=("2024-01-01", "2024-01-03"))
    run(assets, tmp_path, "bronze/events", partition="2024-01-02", version="2", note="new")
    frame = pl.read_delta(str(tmp_path / "bronze/events")).sort("day")
    assert frame.select("version", "note").rows() == [("1", None), ("2", "new"), ("1", None)]


def test_partitioned_downstream_reads_exactly_its_range(tmp_path: Path) -> None:
    assets = graph("date")
    run(assets, tmp_path, "bronze/events", span=("2024-01-01", "2024-01-10"))
    run(assets, tmp_path, "silver/daily_events", span=("2024-01-03", "2024-01-04"))
    assert table(tmp_path, "silver/daily_events") == [("2024-01-03", "1"), ("2024-01-04", "1")]


def test_materializing_twice_leaves_what_once_does(tmp_path: Path) -> None:
    assets = graph("date")
    run(assets, tmp_path, "bronze/events", span=("2024-01-01", "2024-01-31"))
    once = table(tmp_path, "bronze/events")
    run(assets, tmp_path, "bronze/events", span=("2024-01-01", "2024-01-31"))
    assert table(tmp_path, "bronze/events") == once


def test_rows_outside_the_partition_are_refused(tmp_path: Path) -> None:
    @dg.asset(partitions_def=DAYS, metadata={"partition_expr": "day"})
    def stray() -> pl.DataFrame:
        return pl.DataFrame({"day": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]})

    io_manager = LakeIOManager(root_uri=str(tmp_path), storage_options=LocalConfig())
    result = dg.materialize(
        [stray],
        partition_key="2024-01-01",
        resources={"io_manager": io_manager},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None
    assert "1 rows fall outside the partition window" in str(failure.cause)
    assert not (tmp_path / "public" / "stray").exists()


@pytest.mark.parametrize(
    "option",
    [{"mode": "append"}, {"writer_properties": {"compression": "ZSTD"}}, {"table_config": {}}],
)
def test_a_write_option_the_window_handler_decides_is_refused_not_ignored(
    option: dict[str, object], tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="does not take"):
        LakeIOManager(root_uri=str(tmp_path), storage_options=LocalConfig(), **option)
