"""The pandera schema of a silver table, derived from its entity contract, never by hand."""

from __future__ import annotations

import pandera.errors
import pandera.polars as pa
import polars as pl

from data_platform.contracts import Entity
from data_platform.contracts import lineage as lin


def silver_contract(entity: Entity) -> pa.DataFrameSchema:
    """Every column typed and not null; one row per key (and date); every business rule holds."""
    columns = {
        name: pa.Column(dtype, nullable=name == lin.CHANGED_AT)
        for name, dtype in lin.silver_schema(entity).items()
    }
    scope = [lin.BUSINESS_DATE] if entity.partitioned else []
    checks = [
        pa.Check(lambda data, rule=rule: data.lazyframe.select(rule.holds), name=rule.name)
        for rule in entity.rules
    ]
    return pa.DataFrameSchema(
        columns, checks=checks, unique=[*scope, *entity.primary_key], strict=True, name=entity.name
    )


def failures(entity: Entity, frame: pl.DataFrame) -> pl.DataFrame:
    """pandera's failure cases for `frame` (validated collected: a LazyFrame skips data checks)."""
    try:
        silver_contract(entity).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases: pl.DataFrame = errors.failure_cases
        return cases.select("check", "column", pl.col("failure_case").cast(pl.String))
    return pl.DataFrame(schema={"check": pl.String, "column": pl.String, "failure_case": pl.String})
