"""The result most checks share: they pass when no row offends, and report how many rows did
and the first of them as a table."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from data_platform.catalog.metadata import records_table

EXAMPLES = 10


def offenders(
    found: pl.DataFrame,
    count: str,
    *,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    examples: int = EXAMPLES,
    metadata: Mapping[str, dg.MetadataValue] | None = None,
    **target: Any,
) -> dg.AssetCheckResult:
    """`found` are the offending rows; `count` names their number; `target` may name the asset
    key and check (needed when the result is yielded from an asset's own step)."""
    return dg.AssetCheckResult(
        passed=found.height == 0,
        severity=severity,
        metadata={
            count: dg.MetadataValue.int(found.height),
            **(metadata or {}),
            "examples": records_table(found.head(examples)),
        },
        **target,
    )
