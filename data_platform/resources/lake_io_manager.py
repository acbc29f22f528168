"""Delta Lake IO manager for bronze, silver and quarantine: right for one, a range or all days.

The stock `DeltaLakePolarsIOManager` (dagster-deltalake-polars 0.29) reduces a partition's time
window to its first day: an unpartitioned reader of a partitioned table sees only the first
partition, a single-run backfill writes only its first day (or fails on an existing table), and a
string or naive-datetime partition column makes it fall back to overwriting the whole table. This
module replaces only its type handler, the one place that turns a table slice into a read filter
and a write predicate, and keeps the library's configuration, connection and table naming.

Physical layout: Dagster's daily partitions are the unit of work, not of storage. Time-partitioned
tables are stored partitioned by month (`_lake_month`) so a full read opens one file per month once
compacted, and a day's rewrite touches only its month.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa
from dagster import InputContext, MetadataValue, OutputContext
from dagster_deltalake_polars import DeltaLakePolarsIOManager
from dagster_deltalake_polars.deltalake_polars_type_handler import DeltaLakePolarsTypeHandler
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from pydantic import model_validator

# the handler interface and its types: private, no public alias
from data_platform.automation.retries import final_unless_transient
from data_platform.compat import DbTypeHandler, TableConnection, TableSlice

LAYOUT_COLUMN = "_lake_month"
OUTSIDE = "_outside_window"
COMMIT_ATTEMPTS = 6
STREAM_ROWS = 250_000


@dataclass(frozen=True)
class Window:
    """The rows of a table slice: `column` in [start, end)."""

    column: str
    start: dt.datetime
    end: dt.datetime

    def literals(self, dtype: pl.DataType) -> tuple[Any, Any]:
        """The window's bounds in the column's own type."""
        if dtype == pl.Date:
            return self.start.date(), self.end.date()
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                return _naive(self.start), _naive(self.end)
            return self.start, self.end
        if dtype == pl.String:
            return self.start.date().isoformat(), self.end.date().isoformat()
        raise TypeError(f"partition column {self.column} has unsupported type {dtype}")

    def row_filter(self, dtype: pl.DataType) -> pl.Expr:
        low, high = self.literals(dtype)
        return pl.col(self.column).is_between(pl.lit(low), pl.lit(high), closed="left")

    def months(self) -> tuple[str, str]:
        last_day = self.end - dt.timedelta(microseconds=1)
        return self.start.strftime("%Y-%m"), last_day.strftime("%Y-%m")

    def predicate(self, dtype: pl.DataType) -> str:
        """The SQL predicate delta-rs overwrites: this window's rows and nothing else."""
        low, high = (_sql_literal(bound) for bound in self.literals(dtype))
        first, last = self.months()
        return (
            f"{LAYOUT_COLUMN} >= '{first}' AND {LAYOUT_COLUMN} <= '{last}'"
            f" AND {self.column} >= {low} AND {self.column} < {high}"
        )


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _sql_literal(value: Any) -> str:
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ") if value.tzinfo is None else value.isoformat()
        return f"'{text}'"
    return f"'{value.isoformat() if isinstance(value, dt.date) else value}'"


def window_of(table_slice: TableSlice) -> Window | None:
    """The time window a slice covers; None for unpartitioned tables."""
    dimensions = table_slice.partition_dimensions or []
    if not dimensions:
        return None
    if len(dimensions) > 1:
        raise NotImplementedError("only one time-window partition dimension is supported")
    dimension = dimensions[0]
    partitions = dimension.partitions
    if not partitions:
        return None
    start, end = getattr(partitions, "start", None), getattr(partitions, "end", None)
    if not isinstance(start, dt.datetime) or not isinstance(end, dt.datetime):
        raise NotImplementedError(
            f"partition column {dimension.partition_expr} is not a time window; "
            "only time-window partitions are supported"
        )
    return Window(column=dimension.partition_expr, start=start, end=end)


def month_of(column: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return pl.col(column).str.slice(0, 7)
    return pl.col(column).dt.strftime("%Y-%m")


class WindowedPolarsTypeHandler(DeltaLakePolarsTypeHandler):
    """Writes replace exactly their window; reads return exactly the requested window."""

    @final_unless_transient()
    def handle_output(
        self,
        context: OutputContext,
        table_slice: TableSlice,
        obj: pl.DataFrame | pl.LazyFrame,
        connection: TableConnection,
    ) -> None:
        """Write the frame; a LazyFrame is streamed in batches into one commit."""
        frame = obj.lazy()
        schema = frame.collect_schema()
        window = window_of(table_slice)
        options: dict[str, Any] = {"mode": "overwrite"}
        if window is None:
            options["schema_mode"] = "overwrite"
        else:
            dtype = schema[window.column]
            frame = frame.with_columns(
                month_of(window.column, dtype).alias(LAYOUT_COLUMN),
                (~window.row_filter(dtype)).alias(OUTSIDE),
            )
            options["partition_by"] = [LAYOUT_COLUMN]
            if _table_exists(connection):
                options["predicate"] = window.predicate(dtype)
                # a column the contract gained (bronze's `_extra_columns`) is added to the
                # table, rows written before it reading null there; only then, since a merge
                # commits the schema too, and concurrent writers of other windows would conflict
                if set(schema) - _table_columns(connection):
                    options["schema_mode"] = "merge"
        written = _RowCounter(frame, window)
        version = _write_with_retries(connection, written, options)
        metadata = {
            "table_uri": MetadataValue.path(connection.table_uri),
            "table_version": MetadataValue.int(version),
        }
        if window is None:
            # A window's rows belong to many partitions; the asset reports each one's count.
            metadata["dagster/row_count"] = MetadataValue.int(written.rows)
        context.add_output_metadata(metadata)

    @final_unless_transient()
    def load_input(
        self,
        context: InputContext,
        table_slice: TableSlice,
        connection: TableConnection,
    ) -> pl.DataFrame | pl.LazyFrame:
        scan = pl.scan_delta(connection.table_uri, storage_options=connection.storage_options)
        schema = scan.collect_schema()
        window = window_of(table_slice)
        if window is not None:
            if LAYOUT_COLUMN in schema:
                first, last = window.months()
                scan = scan.filter(pl.col(LAYOUT_COLUMN).is_between(pl.lit(first), pl.lit(last)))
            scan = scan.filter(window.row_filter(schema[window.column]))
        if LAYOUT_COLUMN in schema:
            scan = scan.drop(LAYOUT_COLUMN)
        if table_slice.columns:
            scan = scan.select(table_slice.columns)
        if context.dagster_type.typing_type is pl.LazyFrame:
            return scan
        return scan.collect()


def _table_columns(connection: TableConnection) -> set[str]:
    table = DeltaTable(connection.table_uri, storage_options=connection.storage_options)
    return {field.name for field in table.schema().fields}


def _table_exists(connection: TableConnection) -> bool:
    try:
        DeltaTable(connection.table_uri, storage_options=connection.storage_options)
    except TableNotFoundError:
        return False
    return True


class _RowCounter:
    """Streams a frame as Arrow batches, counting rows and refusing rows outside the window."""

    def __init__(self, frame: pl.LazyFrame, window: Window | None) -> None:
        self.frame = frame
        self.window = window
        self.rows = 0

    def reader(self) -> pa.RecordBatchReader:
        self.rows = 0
        batches = self._batches()
        first = next(batches, None)
        if first is None:
            empty = self.frame.clear().collect()
            return _arrow(empty).to_reader()
        schema = first.schema
        return pa.RecordBatchReader.from_batches(schema, itertools.chain([first], batches))

    def _batches(self) -> Iterator[pa.RecordBatch]:
        for chunk in self.frame.collect_batches(chunk_size=STREAM_ROWS):
            if self.window is not None:
                outside = int(chunk[OUTSIDE].sum())
                if outside:
                    raise ValueError(
                        f"{outside} rows fall outside the partition window [{self.window.start}, "
                        f"{self.window.end}) of {self.window.column}; refusing to write them"
                    )
            self.rows += chunk.height
            yield from _arrow(chunk).to_batches()


def _arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.drop(OUTSIDE, strict=False).to_arrow()


def _write_with_retries(
    connection: TableConnection, frame: _RowCounter, options: dict[str, Any]
) -> int:
    """Concurrent runs write disjoint windows of one table; a lost commit race is retried."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            write_deltalake(
                connection.table_uri,
                frame.reader(),
                storage_options=connection.storage_options,
                **options,
            )
            break
        except CommitFailedError:
            if attempt == COMMIT_ATTEMPTS:
                raise
            time.sleep(0.2 * 2**attempt)
    table = DeltaTable(connection.table_uri, storage_options=connection.storage_options)
    return table.version()


# Fields of dagster-deltalake's IO manager that the window handler decides itself (it overwrites
# exactly the run's window, streams the frame, sets the layout): a value other than the default is
# refused, not ignored.
DECIDED_BY_THE_HANDLER = (
    "mode",
    "overwrite_schema",
    "writer_engine",
    "table_config",
    "custom_metadata",
    "writer_properties",
)


class LakeIOManager(DeltaLakePolarsIOManager):
    """Stores polars frames as Delta tables at `<root_uri>/<layer>/<entity>`.

    It takes the library's `root_uri`, `storage_options`, `client_options` and `schema`; the write
    options of `DECIDED_BY_THE_HANDLER` are refused when set.
    """

    @model_validator(mode="after")
    def _refuse_what_the_handler_decides(self) -> LakeIOManager:
        fields = type(self).model_fields
        refused = [f for f in DECIDED_BY_THE_HANDLER if getattr(self, f) != fields[f].default]
        if refused:
            raise ValueError(
                f"LakeIOManager writes each run's window itself and does not take {refused}"
            )
        return self

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler[Any]]:
        return [WindowedPolarsTypeHandler()]
