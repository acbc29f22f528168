"""Work on a long partition range a slice at a time, with bounded memory.

A single-run backfill hands an asset years of daily partitions. The range is cut into slices of
whole days by volume (landed bytes for bronze, bronze rows for silver), each computed on its own
and parked in an Arrow IPC file on the run worker's scratch disk; the IO manager then streams all
of them into one Delta commit. Memory holds one slice, not the history, and a small history is
one slice: per-slice overhead (a validation, a file) is paid per volume, not per month.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import polars as pl

from data_platform.catalog.partitions import partition_dates


def windows(
    context: dg.AssetExecutionContext, weights: Mapping[dt.date, int], budget: int
) -> list[tuple[dt.date, dt.date]]:
    """The run's window in slices (see `slices`); everything at once for an unpartitioned asset."""
    span = partition_dates(context)
    return [(dt.date.min, dt.date.max)] if span is None else slices(span, weights, budget)


def slices(
    span: tuple[dt.date, dt.date], weights: Mapping[dt.date, int], budget: int
) -> list[tuple[dt.date, dt.date]]:
    """[start, end) cut into consecutive slices of whole days, each weighing at most `budget`
    (a heavier day is a slice of its own); days without a weight weigh nothing."""
    start, end = span
    found: list[tuple[dt.date, dt.date]] = []
    low, total = start, 0
    for day in sorted(day for day in weights if start <= day < end):
        if total and total + weights[day] > budget:
            found.append((low, day))
            low, total = day, 0
        total += weights[day]
    found.append((low, end))
    return found


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
