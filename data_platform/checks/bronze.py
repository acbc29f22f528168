"""Checks on every bronze table: did each landed file parse to a known layout with known
columns, and yield rows?

All warn: broken records are already set aside in quarantine by silver, with their reason, and
unknown columns are kept in bronze; these checks point an operator at the files to ask the source
about.
"""

from __future__ import annotations

import json

import dagster as dg
import polars as pl

from data_platform.catalog.metadata import records_table
from data_platform.checks.offenders import offenders
from data_platform.contracts import lineage as lin
from data_platform.landing.formats import UNREADABLE_FILE
from data_platform.landing.layout import LandedFile

EXAMPLES = 20


def specs(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            "known_layout",
            asset=key,
            description="Every landed file was readable and every record fit its format's layout.",
        ),
        dg.AssetCheckSpec(
            "known_columns",
            asset=key,
            description="No landed file has columns the contract does not know (schema drift); "
            "bronze keeps their values in `_extra_columns`, silver does not carry them.",
        ),
        dg.AssetCheckSpec(
            "rows_per_file",
            asset=key,
            description="Rows read from each landed file; warns on a "
            "file that yielded none (empty, or a header only).",
        ),
    ]


def known_layout(key: dg.AssetKey, per_file: pl.DataFrame, passed_over: int) -> dg.AssetCheckResult:
    """`per_file` has per landed file: `rows`, `layout_errors`, `unreadable`."""
    broken = per_file.filter((pl.col("layout_errors") > 0) | pl.col("unreadable"))
    return offenders(
        broken,
        "files_with_layout_errors",
        severity=dg.AssetCheckSeverity.WARN,
        examples=EXAMPLES,
        metadata={
            "files_read": dg.MetadataValue.int(per_file.height),
            "records_with_layout_errors": dg.MetadataValue.int(
                int(per_file["layout_errors"].sum())
            ),
            "files_passed_over": dg.MetadataValue.int(passed_over),
        },
        asset_key=key,
        check_name="known_layout",
    )


def known_columns(key: dg.AssetKey, per_file: pl.DataFrame) -> dg.AssetCheckResult:
    """`per_file` has per landed file: `rows_with_extra_columns` and `extra_columns`."""
    drifted = per_file.filter(pl.col("rows_with_extra_columns") > 0).select(
        lin.SOURCE_FILE, lin.BUSINESS_DATE, "extra_columns", "rows_with_extra_columns"
    )
    # each unknown column with the number of files that have it
    columns = (
        drifted.select(column=pl.col("extra_columns").str.split(", "))
        .explode("column")
        .group_by("column")
        .agg(files=pl.len().cast(pl.Int64))
        .sort("column")
    )
    return offenders(
        drifted,
        "files_with_unknown_columns",
        severity=dg.AssetCheckSeverity.WARN,
        examples=EXAMPLES,
        metadata={"unknown_columns": records_table(columns)},
        asset_key=key,
        check_name="known_columns",
    )


def rows_per_file(key: dg.AssetKey, per_file: pl.DataFrame) -> dg.AssetCheckResult:
    empty = per_file.filter(pl.col("rows") == 0)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name="rows_per_file",
        passed=empty.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "files": dg.MetadataValue.int(per_file.height),
            "empty_files": dg.MetadataValue.int(empty.height),
            "fewest_rows": records_table(per_file.sort("rows").head(EXAMPLES)),
        },
    )


def per_file_counts(frame: pl.DataFrame, files: list[LandedFile]) -> pl.DataFrame:
    """Rows, layout errors and unreadability per landed file, including files with no rows."""
    counts = frame.group_by(lin.SOURCE_FILE).agg(
        rows=(pl.col(lin.SOURCE_LINE) > 0).sum().cast(pl.Int64),
        layout_errors=pl.col(lin.LAYOUT_ERROR).is_not_null().sum().cast(pl.Int64),
        unreadable=(pl.col(lin.LAYOUT_ERROR) == UNREADABLE_FILE).any(),
        rows_with_extra_columns=pl.col(lin.EXTRA_COLUMNS).is_not_null().sum().cast(pl.Int64),
        # a file's unknown columns come from its header (or parquet schema): one row names them
        extra_columns=pl.col(lin.EXTRA_COLUMNS).drop_nulls().first(),
    )
    every = pl.DataFrame(
        {
            lin.SOURCE_FILE: [f.path for f in files],
            lin.BUSINESS_DATE: [f.business_date for f in files],
        },
        schema={lin.SOURCE_FILE: pl.String, lin.BUSINESS_DATE: pl.Date},
    )
    return every.join(counts, on=lin.SOURCE_FILE, how="left").with_columns(
        pl.col("rows", "layout_errors", "rows_with_extra_columns").fill_null(0),
        pl.col("unreadable").fill_null(False),
        pl.col("extra_columns").map_elements(_names, return_dtype=pl.String).fill_null(""),
    )


def _names(extra: str) -> str:
    return ", ".join(json.loads(extra))
