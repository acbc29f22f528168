"""Metadata the UI shows: column schemas from the contracts, and per-partition counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from data_platform.catalog.partitions import in_partitions
from data_platform.compat import add_partition_metadata_in_bulk
from data_platform.contracts import Entity
from data_platform.contracts import lineage as lin
from data_platform.contracts.model import Classification

# Lineage columns that hold landed values as they came: as sensitive as the entity's most
# sensitive column, or, for columns the contract does not know (yet), as personal data.
RAW_VALUES = (lin.RAW_RECORD, lin.DETAIL)
UNCLASSIFIED_VALUES = (lin.EXTRA_COLUMNS,)


def classification(entity: Entity, name: str) -> Classification:
    """How sensitive the values of a layer's column are (the UI's column tag `classification`)."""
    if name in entity.column_names:
        return entity.column(name).classification
    if name in RAW_VALUES:
        return entity.sensitivity
    return Classification.PII if name in UNCLASSIFIED_VALUES else Classification.PUBLIC


def column_schema(entity: Entity, schema: dict[str, pl.DataType]) -> dg.TableSchema:
    def description(name: str) -> str:
        if name in entity.column_names:
            return entity.column(name).description
        return lin.DESCRIPTIONS.get(name, "")

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=str(dtype),
                description=description(name),
                tags={"classification": classification(entity, name).value},
            )
            for name, dtype in schema.items()
        ]
    )


def table_metadata(entity: Entity, schema: dict[str, pl.DataType]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"dagster/column_schema": column_schema(entity, schema)}
    if entity.partitioned:
        metadata["partition_expr"] = lin.BUSINESS_DATE
    return metadata


def covers_one_partition(context: dg.AssetExecutionContext) -> bool:
    """Whether the run materializes one partition (or an unpartitioned asset)."""
    return not (in_partitions(context) and context.has_partition_key_range) or (
        len(context.partition_keys) == 1
    )


def add_counts_per_partition(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    counts: pl.DataFrame,
    row_count: str,
) -> None:
    """Attach each business date's counts to that date's materialization (zeros where none).

    `counts` has `_business_date` and integer columns; `row_count` names the one that becomes
    `dagster/row_count`, which the UI plots over time.
    """
    names = [name for name in counts.columns if name != lin.BUSINESS_DATE]
    if not in_partitions(context):
        totals = {name: int(counts[name].sum()) for name in names}
        context.add_asset_metadata(_count_metadata(totals, row_count), asset_key=key)
        return
    by_day = {row[lin.BUSINESS_DATE].isoformat(): row for row in counts.iter_rows(named=True)}
    per_partition = {}
    for partition in context.partition_keys:
        day = by_day.get(partition, {})
        values = {name: int(day.get(name) or 0) for name in names}
        per_partition[partition] = _count_metadata(values, row_count)
    # not add_asset_metadata per partition: quadratic in the range (see compat)
    add_partition_metadata_in_bulk(context, key, per_partition)


def _count_metadata(values: Mapping[str, int], row_count: str) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        name: dg.MetadataValue.int(value) for name, value in values.items()
    }
    metadata["dagster/row_count"] = dg.MetadataValue.int(values[row_count])
    return metadata


def records_table(frame: pl.DataFrame) -> dg.MetadataValue:
    """A small frame as a table the UI renders (not a JSON blob): numbers stay numbers, empty
    cells stay empty; decimals and dates are shown as text, exactly."""
    columns = [dg.TableColumn(name, _column_type(dtype)) for name, dtype in frame.schema.items()]
    records = [
        dg.TableRecord(
            {k: v if v is None or isinstance(v, int | float) else str(v) for k, v in row.items()}
        )
        for row in frame.iter_rows(named=True)
    ]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def _column_type(dtype: pl.DataType) -> str:
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int"
    return "float" if dtype.is_float() else "string"
