"""Measure the lake's physical layout: full reads of a table written one day per commit
(a file per landed day), before and after compaction to a file per month.

`python -m benchmarks.layout --days 730` (run from the repo root; needs nothing landed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, write_deltalake

from data_platform.resources.duckdb_extensions import connect
from data_platform.resources.lake_io_manager import LAYOUT_COLUMN

ROWS_PER_DAY = 2500  # a day of SF 1 lineitem


def day_frame(day: dt.date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "key": pl.int_range(0, ROWS_PER_DAY, eager=True),
            "value": pl.Series([1.5] * ROWS_PER_DAY).cast(pl.Decimal(15, 2)),
            "comment": ["furiously regular deposits"] * ROWS_PER_DAY,
            "_business_date": [day] * ROWS_PER_DAY,
            LAYOUT_COLUMN: [day.strftime("%Y-%m")] * ROWS_PER_DAY,
        }
    )


def timed_reads(uri: str, repeats: int = 3) -> tuple[float, float]:
    """Best-of-N seconds for a full read with polars and with DuckDB's delta_scan."""
    polars_best = duckdb_best = float("inf")
    connection = connect(":memory:", "delta")
    for _ in range(repeats):
        started = time.perf_counter()
        pl.scan_delta(uri).select(pl.col("value").sum()).collect()
        polars_best = min(polars_best, time.perf_counter() - started)
        started = time.perf_counter()
        connection.sql(f"select sum(value) from delta_scan('{uri}')").fetchall()
        duckdb_best = min(duckdb_best, time.perf_counter() - started)
    return polars_best, duckdb_best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=730)
    days = parser.parse_args().days
    uri = str(Path(tempfile.mkdtemp(prefix="layout-")) / "table")
    first = dt.date(1992, 1, 1)
    for offset in range(days):
        write_deltalake(
            uri,
            day_frame(first + dt.timedelta(days=offset)).to_arrow(),
            mode="append",
            partition_by=[LAYOUT_COLUMN],
        )
    daily_files = len(DeltaTable(uri).file_uris())
    daily = timed_reads(uri)
    DeltaTable(uri).optimize.compact()
    monthly_files = len(DeltaTable(uri).file_uris())
    monthly = timed_reads(uri)
    print(f"{days} days x {ROWS_PER_DAY} rows")
    print(f"{'layout':<22}{'files':>7}{'polars s':>10}{'duckdb s':>10}")
    print(f"{'a file per day':<22}{daily_files:>7}{daily[0]:>10.3f}{daily[1]:>10.3f}")
    print(f"{'compacted per month':<22}{monthly_files:>7}{monthly[0]:>10.3f}{monthly[1]:>10.3f}")
    print(f"speed-up: polars {daily[0] / monthly[0]:.1f}x, duckdb {daily[1] / monthly[1]:.1f}x")


if __name__ == "__main__":
    main()
