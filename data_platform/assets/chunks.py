"""Work on a long partition range one month at a time, with bounded memory.

A single-run backfill hands an asset years of daily partitions. Each month is computed on its own
and parked in an Arrow IPC file on the run worker's scratch disk; the IO manager then streams all
of them into one Delta commit. Memory holds one month, not the history.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl


def months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """[start, end) cut at month boundaries."""
    windows = []
    low = start
    while low < end:
        next_month = (low.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        high = min(next_month, end)
        windows.append((low, high))
        low = high
    return windows


def run_window(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date] | None:
    """The run's partition window as dates; None for an unpartitioned asset."""
    if not context.has_partition_key and not context.has_partition_key_range:
        return None
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def windows(context: dg.AssetExecutionContext) -> list[tuple[dt.date, dt.date]]:
    """The months of a run's partition window; everything at once for an unpartitioned asset."""
    span = run_window(context)
    return [(dt.date.min, dt.date.max)] if span is None else months(*span)


class Spill:
    """Frames with one schema, parked on scratch disk until they are streamed out."""

    def __init__(self, directory: Path, name: str, schema: dict[str, pl.DataType]) -> None:
        self.directory = directory / name
        self.directory.mkdir()
        self.schema = schema
        self.files: list[Path] = []

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height:
            path = self.directory / f"{len(self.files):06d}.arrow"
            frame.select(list(self.schema)).write_ipc(path)
            self.files.append(path)

    def scan(self) -> pl.LazyFrame:
        if not self.files:
            return pl.LazyFrame(schema=self.schema)
        return pl.scan_ipc(self.files).cast(self.schema)  # type: ignore[arg-type]


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="data-platform-") as directory:
        yield Path(directory)
