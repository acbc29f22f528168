"""Checks across silver tables and across days: referential integrity and volume anomalies.

Every relation is declared once, in the entity contract (`Reference`, with its orphan policy).
A row whose parent is missing stays in silver (a lineitem's order may land later) and the marts'
inner joins leave it out of gold until the parent is there; these checks list such rows, warning
or failing as the policy says, so an operator can tell a late parent from a broken source.
"""

import datetime as dt
from typing import Any

import dagster as dg
import polars as pl

from data_platform.catalog.keys import lake_key
from data_platform.catalog.partitions import DateWindow, partition_dates
from data_platform.checks.offenders import offenders
from data_platform.contracts import ENTITIES, Entity, entity_named
from data_platform.contracts import lineage as lin
from data_platform.contracts.model import Orphans, Reference
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


SEVERITY = {Orphans.WAIT: dg.AssetCheckSeverity.WARN, Orphans.ERROR: dg.AssetCheckSeverity.ERROR}


def relation_check_name(reference: Reference) -> str:
    return f"{reference.parent}_exists"


def relation_description(child: Entity, reference: Reference) -> str:
    loudness = "warns" if reference.orphans is Orphans.WAIT else "fails (non-blocking)"
    scope = "of the partition " if child.partitioned else ""
    return (
        f"Every {child.name} {scope}refers to a known {reference.parent} "
        f"({', '.join(reference.columns)}); {loudness} otherwise (orphan policy "
        f"`{reference.orphans.value}`). Orphans stay in silver; the marts leave them out of gold."
    )


def orphans(children: pl.LazyFrame, parents: pl.LazyFrame, reference: Reference) -> pl.DataFrame:
    """The children whose parent is not among `parents`, with their business date and file."""
    keys = parents.select(
        [
            pl.col(p).alias(c)
            for p, c in zip(reference.parent_columns, reference.columns, strict=True)
        ]
    )
    found = children.join(keys, on=list(reference.columns), how="anti")
    return found.select(*reference.columns, lin.BUSINESS_DATE, lin.SOURCE_FILE).collect()


def relation_result(
    lake: Lake, reference: Reference, children: pl.LazyFrame, **target: Any
) -> dg.AssetCheckResult:
    """The relation's verdict on `children`, as loud as its orphan policy says."""
    parent_key = lake_key("silver", entity_named(reference.parent))
    if not lake.exists(parent_key):
        # e.g. a first load, where orders and lineitem are built by separate runs
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{parent_key.to_user_string()} is not built yet: not checked",
            **target,
        )
    found = orphans(children, lake.scan(parent_key), reference)
    return offenders(
        found,
        "orphans",
        severity=SEVERITY[reference.orphans],
        metadata={"orphan_policy": dg.MetadataValue.text(reference.orphans.value)},
        **target,
    )


def dimension_relation_specs(entity: Entity, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """A dimension's relations are judged in its silver step, on the table it is about to
    publish (the step runs after its parents': see `dimension_parents`)."""
    if entity.partitioned:
        return []
    return [
        dg.AssetCheckSpec(
            relation_check_name(reference),
            asset=key,
            description=relation_description(entity, reference),
        )
        for reference in entity.references
    ]


def dimension_parents(entity: Entity) -> list[dg.AssetKey]:
    """The silver tables a dimension's silver step reads to judge its relations."""
    if entity.partitioned:
        return []
    return [lake_key("silver", entity_named(r.parent)) for r in entity.references]


def dimension_relation_results(
    entity: Entity, key: dg.AssetKey, lake: Lake, published: pl.LazyFrame
) -> list[dg.AssetCheckResult]:
    """The results of `dimension_relation_specs`, judging the table about to be published."""
    if entity.partitioned:
        return []
    return [
        relation_result(
            lake, reference, published, asset_key=key, check_name=relation_check_name(reference)
        )
        for reference in entity.references
    ]


def referential_integrity_check(
    child: Entity, reference: Reference, partitions: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    """A daily entity's relation, judged per partition. A parent that is daily too is built in
    the same runs, and the check waits for it; a dimension parent is read as it is."""
    child_key = lake_key("silver", child)
    parent = entity_named(reference.parent)

    @dg.asset_check(
        asset=child_key,
        name=relation_check_name(reference),
        description=relation_description(child, reference),
        additional_deps=[lake_key("silver", parent)] if parent.partitioned else None,
        partitions_def=partitions,
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: Lake) -> dg.AssetCheckResult:
        children = lake.scan(child_key).filter(lin.in_business_dates(*_window(context)))
        return relation_result(lake, reference, children)

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
    """The contract's relations of each daily entity, and its volume per day (a dimension's
    relations are checked in its silver step: `dimension_relation_specs`)."""
    daily = [entity for entity in ENTITIES if entity.partitioned]
    return [
        *(
            referential_integrity_check(entity, reference, partitions)
            for entity in daily
            for reference in entity.references
        ),
        *(volume_anomaly_check(entity.name, partitions) for entity in daily),
    ]
