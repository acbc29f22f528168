"""A run's partition window, as each step of the run sees it."""

import datetime as dt

import dagster as dg

from data_platform.catalog.metadata import covers_one_partition
from data_platform.catalog.partitions import RANGE_END_TAG, RANGE_START_TAG, partition_dates

DAILY = dg.DailyPartitionsDefinition("1995-01-01")


def test_a_dimension_built_in_a_range_run_sees_no_window_and_a_daily_table_its_range() -> None:
    """Dagster tells every step of a range run the run's range, an unpartitioned asset's too: a
    dimension must still read and write the whole table."""
    seen: dict[str, object] = {}

    @dg.asset
    def dimension(context: dg.AssetExecutionContext) -> None:
        seen["dimension"] = (partition_dates(context), covers_one_partition(context))

    @dg.asset(
        partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run(), deps=[dimension]
    )
    def daily(context: dg.AssetExecutionContext) -> None:
        seen["daily"] = (partition_dates(context), covers_one_partition(context))

    tags = {RANGE_START_TAG: "1995-01-01", RANGE_END_TAG: "1995-01-03"}
    with dg.instance_for_test() as instance:
        assert dg.materialize([dimension, daily], instance=instance, tags=tags).success
    assert seen == {
        "dimension": (None, True),
        "daily": ((dt.date(1995, 1, 1), dt.date(1995, 1, 4)), False),
    }
