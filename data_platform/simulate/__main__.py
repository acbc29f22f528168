"""Land TPC-H as source systems would: `python -m data_platform.simulate --sf 0.01 --out DIR`."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import time
from pathlib import Path

import polars as pl

from data_platform import settings
from data_platform.contracts import ENTITIES
from data_platform.simulate.landing_writer import LandingWriter
from data_platform.simulate.tpch import ORDER_DATE, generate, shift_dates

DAILY = tuple(entity.name for entity in ENTITIES if entity.partitioned)
DIMENSIONS = tuple(entity.name for entity in ENTITIES if not entity.partitioned)


def _day(text: str) -> dt.date:
    """An ISO date, or `today`/`yesterday` (UTC, the calendar the daily partitions use)."""
    today = dt.datetime.now(dt.UTC).date()
    relative = {"today": today, "yesterday": today - dt.timedelta(days=1)}
    return relative[text] if text in relative else dt.date.fromisoformat(text)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m data_platform.simulate", description=__doc__)
    parser.add_argument("--sf", type=float, default=0.01, help="TPC-H scale factor")
    parser.add_argument("--out", required=True, help="landing zone root (a path or URL)")
    parser.add_argument("--start", type=dt.date.fromisoformat, help="first order date to land")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last order date to land")
    parser.add_argument(
        "--formats", default="tbl", help="comma-separated formats rotated by date: tbl,csv,parquet"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip every file")
    parser.add_argument(
        "--newest-order",
        type=_day,
        help="shift every date so that the newest order is on this day (ISO, today or yesterday)",
    )
    parser.add_argument(
        "--env-file",
        help=f"write the first business date landed to this file as {settings.PARTITIONS_START}",
    )
    parser.add_argument("--no-dimensions", action="store_true", help="land orders/lineitem only")
    parser.add_argument(
        "--drip", type=float, default=0.0, help="seconds to wait between landing days (0: no wait)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    tables = generate(args.sf)
    if args.newest_order is not None:
        newest = tables["orders"][ORDER_DATE].max()
        assert isinstance(newest, dt.date)
        tables = shift_dates(tables, (args.newest_order - newest).days)
    by_date = {
        name: _in_range(tables[name], args.start, args.end).partition_by(
            ORDER_DATE, as_dict=True, maintain_order=False
        )
        for name in DAILY
    }
    dates = sorted({key[0] for frames in by_date.values() for key in frames})
    if not dates:
        print("no order dates in range", file=sys.stderr)
        return 1
    writer = LandingWriter(args.out, compress=args.gzip)
    formats = itertools.cycle(args.formats.split(","))
    if not args.no_dimensions:
        for name in DIMENSIONS:
            writer.land(name, dates[0], tables[name], "tbl")
    for index, day in enumerate(dates):
        fmt = next(formats)
        for name in DAILY:
            frame = by_date[name].get((day,))
            if frame is not None:
                writer.land(name, day, frame, fmt)
        if args.drip and index < len(dates) - 1:
            time.sleep(args.drip)
    if args.env_file:
        setting = f"{settings.PARTITIONS_START}={dates[0].isoformat()}\n"
        Path(args.env_file).write_text(setting, encoding="utf-8")
    elapsed = time.perf_counter() - started
    span = f"{dates[0]} .. {dates[-1]}"
    print(f"landed {len(dates)} order dates ({span}) in {args.out} ({elapsed:.1f}s)")
    return 0


def _in_range(frame: pl.DataFrame, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    if start is not None:
        frame = frame.filter(pl.col(ORDER_DATE) >= start)
    if end is not None:
        frame = frame.filter(pl.col(ORDER_DATE) <= end)
    return frame


if __name__ == "__main__":
    sys.exit(main())
