"""The daily partitions orders and lineitem are processed in, and a run's window of them."""

import datetime as dt

import dagster as dg

from data_platform import settings


def daily_partitions(
    start_date: str = settings.TPCH_FIRST_ORDER_DATE,
) -> dg.DailyPartitionsDefinition:
    """One partition per business date, up to and including today (files for today may land)."""
    return dg.DailyPartitionsDefinition(start_date=start_date, end_offset=1)


# the run tags Dagster reads a run's partitions from: one partition, or a range of them
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# business dates [start, end): a run's partitions, as the lake's `_business_date` filters them
DateWindow = tuple[dt.date, dt.date]


def partition_dates(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> DateWindow | None:
    """The run's partition window as dates; None when the run has no partition, or the asset
    none (a dimension built in a range run)."""
    if not in_partitions(context):
        return None
    step = context.op_execution_context
    window = step.partition_time_window
    return window.start.date(), window.end.date()


def in_partitions(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> bool:
    """Whether the step computes partitions: its asset is partitioned and the run targets some.

    Dagster reports a run's partition (or range) to every step of the run, an unpartitioned
    asset's too, when the run also builds partitioned assets (the landing sensor's run of a first
    load builds the dimensions with the history's range)."""
    step = context.op_execution_context
    if step.assets_def.partitions_def is None:
        return False
    return step.has_partition_key or step.has_partition_key_range
