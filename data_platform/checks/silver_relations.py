"""Checks across silver tables and across days: referential integrity and volume anomalies (warn).

A lineitem whose order has not landed yet stays in silver (orders may land later); these checks
say how many such rows there are, so an operator can tell a late order from a broken source.
"""

import datetime as dt

import dagster as dg
import polars as pl

from data_platform.catalog.keys import lake_key
from data_platform.catalog.partitions import DateWindow, partition_dates
from data_platform.checks.offenders import offenders
from data_platform.contracts import ENTITIES, Entity, entity_named
from data_platform.contracts import lineage as lin
from data_platform.contracts.model import Reference
from data_platform.resources.lake import Lake

TRAILING_DAYS = 28
# A day is anomalous when its row count is below a quarter, or above four times, the median of
# the trailing days that landed anything (with at least a week of them to compare with). Below a
# median of 100 rows a day, counts are too small to tell an anomaly from chance (at ~6 orders a
# day, a day with one order happens every couple of months), so those days are not judged.
LOW, HIGH, MIN_HISTORY, MIN_MEDIAN_ROWS = 0.25, 4.0, 7, 100


def _window(context: dg.AssetCheckExecutionContext) -> DateWindow:
    window = partition_dates(context)
    assert window is not None, "a relation check runs on daily partitions"
    return window


def referential_integrity_check(
    child: Entity, reference: Reference, partitions: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    child_key = lake_key("silver", child)
    parent_key = lake_key("silver", entity_named(reference.parent))

    @dg.asset_check(
        asset=child_key,
        name=f"{reference.parent}_exists",
        description=f"Every {child.name} of the partition refers to a known "
        f"{reference.parent} ({', '.join(reference.columns)}); warns otherwise.",
        additional_deps=[parent_key],
        partitions_def=partitions,
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: Lake) -> dg.AssetCheckResult:
        if not lake.exists(parent_key):
            # e.g. a first load, where orders and lineitem are built by separate runs
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{parent_key.to_user_string()} is not built yet: not checked",
            )
        children = lake.scan(child_key).filter(lin.in_business_dates(*_window(context)))
        parents = lake.scan(parent_key).select(
            [
                pl.col(p).alias(c)
                for p, c in zip(reference.parent_columns, reference.columns, strict=True)
            ]
        )
        orphans = children.join(parents, on=list(reference.columns), how="anti")
        found = orphans.select(*reference.columns, lin.BUSINESS_DATE, lin.SOURCE_FILE).collect()
        return offenders(found, "orphans", severity=dg.AssetCheckSeverity.WARN)

    return _check


def volume_anomaly_check(
    entity: str, partitions: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    key = lake_key("silver", entity_named(entity))

    @dg.asset_check(
        asset=key,
        name="volume_anomaly",
        description=f"Each day's row count against the median of the trailing {TRAILING_DAYS} "
        "days that landed rows; warns far outside it.",
        partitions_def=partitions,
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: Lake) -> dg.AssetCheckResult:
        low, high = _window(context)
        since = low - dt.timedelta(days=TRAILING_DAYS)
        daily = (
            lake.scan(key)
            .filter(lin.in_business_dates(since, high))
            .group_by(lin.BUSINESS_DATE)
            .agg(rows=pl.len())
            .collect()
        )
        anomalies = anomalous_days(daily, low, high)
        return offenders(anomalies, "anomalous_days", severity=dg.AssetCheckSeverity.WARN)

    return _check


def anomalous_days(daily: pl.DataFrame, low: dt.date, high: dt.date) -> pl.DataFrame:
    """Days in [low, high) whose row count is far from the median of the trailing days."""
    days = pl.DataFrame({lin.BUSINESS_DATE: pl.date_range(low, high, closed="left", eager=True)})
    counts = days.join(daily, on=lin.BUSINESS_DATE, how="left").with_columns(
        pl.col("rows").fill_null(0).cast(pl.Int64)
    )
    history = daily.sort(lin.BUSINESS_DATE)
    found = []
    for day, rows in counts.iter_rows():
        trailing = history.filter(
            pl.col(lin.BUSINESS_DATE).is_between(
                day - dt.timedelta(days=TRAILING_DAYS), day, closed="left"
            )
        )["rows"]
        if trailing.len() < MIN_HISTORY:
            continue
        median = trailing.quantile(0.5, interpolation="midpoint") or 0.0
        if median < MIN_MEDIAN_ROWS:
            continue
        if rows < LOW * median or rows > HIGH * median:
            found.append({lin.BUSINESS_DATE: day, "rows": rows, "trailing_median": median})
    return pl.DataFrame(
        found, schema={lin.BUSINESS_DATE: pl.Date, "rows": pl.Int64, "trailing_median": pl.Float64}
    )


def relation_checks(partitions: dg.PartitionsDefinition) -> list[dg.AssetChecksDefinition]:
    """The contract's relations of each daily entity, and its volume per day."""
    daily = [entity for entity in ENTITIES if entity.partitioned]
    return [
        *(
            referential_integrity_check(entity, reference, partitions)
            for entity in daily
            for reference in entity.references
        ),
        *(volume_anomaly_check(entity.name, partitions) for entity in daily),
    ]
