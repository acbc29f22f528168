"""The daily partitions orders and lineitem are processed in."""

import dagster as dg

from data_platform import settings


def daily_partitions(
    start_date: str = settings.TPCH_FIRST_ORDER_DATE,
) -> dg.DailyPartitionsDefinition:
    """One partition per business date, up to and including today (files for today may land)."""
    return dg.DailyPartitionsDefinition(start_date=start_date, end_offset=1)
