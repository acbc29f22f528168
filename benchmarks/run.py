"""`make bench`: the platform's full-history backfill against a plain DuckDB pipeline.

Both read the same landed TPC-H files (generated once per scale factor) and end in the same four
gold marts, each checked against the oracle. Each runs in its own process tree; wall time and peak
resident memory of the tree are reported, with the ratio platform / plain DuckDB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform as host
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb

from benchmarks.process_tree import Measured, measure
from data_platform.simulate.oracle import expected, mismatches

GIB = 1024**3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor")
    parser.add_argument("--workdir", default=None, help="where data goes (default: a temp dir)")
    return parser.parse_args()


def land(workdir: Path, scale_factor: float) -> tuple[Path, str, str]:
    landing = workdir / f"landing-sf{scale_factor:g}"
    if not (landing / "orders").exists():
        command = [sys.executable, "-m", "data_platform.simulate", "--sf", str(scale_factor)]
        measured = measure([*command, "--out", str(landing)])
        if measured.returncode:
            raise SystemExit("the simulator failed")
    days = sorted(p.name for p in (landing / "orders").iterdir())
    return landing, days[0], days[-1]


def run_platform(
    workdir: Path, landing: Path, first: str, last: str
) -> tuple[Measured, dict[str, float]]:
    target = workdir / "platform"
    shutil.rmtree(target, ignore_errors=True)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(target / "dagster_home"),
        "DAGSTER_EVENT_BATCH_SIZE": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "100000"),
        "PLATFORM_LANDING_DIR": str(landing),
        "PLATFORM_LAKE_DIR": str(target / "lake"),
        "PLATFORM_WAREHOUSE_PATH": str(target / "warehouse.duckdb"),
    }
    report = target / "timings.json"
    target.mkdir(parents=True)
    command = [sys.executable, "-m", "benchmarks.platform_backfill", first, last, str(report)]
    measured = measure(command, env=env)
    return measured, json.loads(report.read_text()) if report.exists() else {}


def run_plain(workdir: Path, landing: Path) -> Measured:
    database = workdir / "plain.duckdb"
    return measure([sys.executable, "-m", "benchmarks.plain_pipeline", str(landing), str(database)])


def check(database: Path, oracle: dict[str, tuple[list[str], list[tuple[str, ...]]]]) -> str:
    with duckdb.connect(str(database), read_only=True) as connection:
        problems = mismatches(connection, oracle)
    return "equal to the oracle" if not problems else f"WRONG: {problems[:3]}"


def main() -> int:
    args = parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    landing, first, last = land(workdir, args.sf)
    oracle = expected(args.sf)
    plain = run_plain(workdir, landing)
    platform, runs = run_platform(workdir, landing, first, last)
    if platform.returncode or plain.returncode:
        print("a pipeline failed", file=sys.stderr)
        return 1
    run_seconds = sum(runs.values())
    rows = [
        (
            "plain DuckDB SQL",
            plain.seconds,
            plain.seconds,
            plain.peak_bytes,
            check(workdir / "plain.duckdb", oracle),
        ),
        (
            "platform backfill",
            platform.seconds,
            run_seconds,
            platform.peak_bytes,
            check(workdir / "platform" / "warehouse.duckdb", oracle),
        ),
    ]
    print(
        f"\nTPC-H SF {args.sf:g}, {first} .. {last}, {os.cpu_count()} cores, "
        f"{host.machine()}, {dt.date.today()}"
    )
    print(f"{'pipeline':<20}{'process s':>10}{'runs s':>9}{'peak GiB':>10}  result")
    for name, wall, runs_s, peak, result in rows:
        print(f"{name:<20}{wall:>10.1f}{runs_s:>9.1f}{peak / GIB:>10.2f}  {result}")
    print(
        f"ratio platform/plain: runs {run_seconds / plain.seconds:.2f}x, "
        f"process {platform.seconds / plain.seconds:.2f}x, "
        f"memory {platform.peak_bytes / max(plain.peak_bytes, 1):.2f}x"
    )
    print("platform runs: " + ", ".join(f"{k} {v:.1f}s" for k, v in runs.items()))
    ok = all(r[4] == "equal to the oracle" for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
