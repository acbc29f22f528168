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
    """The run's partition window as dates; None when the run has no partition."""
    step = context.op_execution_context
    if not step.has_partition_key and not step.has_partition_key_range:
        return None
    window = step.partition_time_window
    return window.start.date(), window.end.date()
