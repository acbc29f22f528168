"""Checks on every silver table, evaluated while the silver step runs.

`contract` and `primary_key_unique` are blocking: when either fails, nothing downstream of the
silver table runs on the data. The others inform: `reconciliation` accounts for every landed row
and `quarantine_rate` compares the share of rejected rows with the entity's thresholds.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from data_platform.catalog.keys import lake_key
from data_platform.catalog.metadata import records_table
from data_platform.catalog.partitions import DateWindow
from data_platform.checks.offenders import EXAMPLES, offenders
from data_platform.contracts import Entity
from data_platform.contracts import lineage as lin
from data_platform.transforms.silver import unaccounted


def specs(
    entity: Entity, key: dg.AssetKey, partitions: dg.PartitionsDefinition | None = None
) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            "contract",
            asset=key,
            blocking=True,
            partitions_def=partitions,
            description="pandera schema from the contract: types, not null, key, business rules.",
        ),
        dg.AssetCheckSpec(
            "primary_key_unique",
            asset=key,
            blocking=True,
            partitions_def=partitions,
            description=f"One row per {', '.join(entity.primary_key)} in the whole table.",
        ),
        dg.AssetCheckSpec(
            "reconciliation",
            asset=key,
            description="Per file and date: landed = current + superseded + quarantined + "
            "redelivered.",
        ),
        dg.AssetCheckSpec(
            "quarantine_rate",
            asset=key,
            description=f"Quarantined share of landed rows: warn above "
            f"{entity.quarantine_warn_rate:.1%}, fail above {entity.quarantine_error_rate:.1%}.",
        ),
    ]


def contract(key: dg.AssetKey, failed: pl.DataFrame) -> dg.AssetCheckResult:
    by_check = failed.group_by("check").len("rows").sort("rows", descending=True)
    return offenders(
        failed,
        "failures",
        metadata={"failures_by_check": records_table(by_check)},
        asset_key=key,
        check_name="contract",
    )


def primary_key_unique(
    entity: Entity,
    key: dg.AssetKey,
    table: pl.LazyFrame,
    window: DateWindow | None,
) -> dg.AssetCheckResult:
    """Keys of the run's partitions that occur more than once anywhere in the table: a bad day
    blocks its own downstream, not every other day's."""
    pk = list(entity.primary_key)
    if window is not None:
        in_window = lin.in_business_dates(*window)
        table = table.join(table.filter(in_window).select(pk), on=pk, how="semi")
    duplicates = (
        table.group_by(pk)
        .agg(rows=pl.len(), dates=pl.col(lin.BUSINESS_DATE).unique().sort().cast(pl.String))
        .filter(pl.col("rows") > 1)
        .with_columns(pl.col("dates").list.join(", "))
        .collect()
    )
    return offenders(duplicates, "duplicate_keys", asset_key=key, check_name="primary_key_unique")


def unpublished(result: dg.AssetCheckResult, version: int | None) -> dg.AssetCheckResult:
    """A blocking check's result when a failure kept the run's version from being published:
    readers stay on `version` (none: the table was never published)."""
    held = "no version" if version is None else f"version {version}"
    return dg.AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=result.passed,
        severity=result.severity,
        description=f"not published: readers stay on {held}",
        metadata={
            **result.metadata,
            "readers_see_version": dg.MetadataValue.int(-1 if version is None else version),
        },
    )


def reconciliation(key: dg.AssetKey, per_file: pl.DataFrame) -> dg.AssetCheckResult:
    """`per_file` has one row per source file and date with the outcome counts."""
    unbalanced = per_file.filter(unaccounted() != 0)
    totals = {
        name: int(per_file[name].sum())
        for name in per_file.columns
        if per_file[name].dtype == pl.Int64
    }
    return dg.AssetCheckResult(
        asset_key=key,
        check_name="reconciliation",
        passed=unbalanced.height == 0,
        metadata={
            **{f"rows_{name}": dg.MetadataValue.int(value) for name, value in totals.items()},
            "files": dg.MetadataValue.int(per_file.height),
            "unbalanced_files": dg.MetadataValue.int(unbalanced.height),
            "unbalanced_examples": records_table(unbalanced.head(EXAMPLES)),
        },
    )


def quarantine_rate(
    entity: Entity, key: dg.AssetKey, landed: int, quarantined: int
) -> dg.AssetCheckResult:
    rate = quarantined / landed if landed else 0.0
    severity = (
        dg.AssetCheckSeverity.ERROR
        if rate > entity.quarantine_error_rate
        else dg.AssetCheckSeverity.WARN
    )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name="quarantine_rate",
        passed=rate <= entity.quarantine_warn_rate,
        severity=severity,
        metadata={
            "rate": dg.MetadataValue.float(rate),
            "rows_landed": dg.MetadataValue.int(landed),
            "rows_quarantined": dg.MetadataValue.int(quarantined),
            "warn_above": dg.MetadataValue.float(entity.quarantine_warn_rate),
            "fail_above": dg.MetadataValue.float(entity.quarantine_error_rate),
            "quarantine_table": dg.MetadataValue.asset(lake_key("quarantine", entity)),
        },
    )
