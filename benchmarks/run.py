"""`make bench`: the platform's full-history backfill, on each profile, against plain DuckDB.

All read the same landed TPC-H files (generated once per scale factor) and end in the same four
gold marts, each checked against the oracle. Each pipeline runs in its own process tree; wall
time and peak resident memory of the tree are reported, with the ratio to plain DuckDB.

- `local`: landing zone and lake on local disk, gold a DuckDB file, the instance in SQLite
  (`config/local/dagster.yaml`).
- `production`: landing zone and lake on S3 (moto's server on loopback, started here), gold a
  DuckLake with its catalog in PostgreSQL, the instance in PostgreSQL
  (`config/production/dagster.yaml`). The landed files are uploaded to the bucket first (timed
  apart, not counted). Steps run in the backfill's own process, as on the local profile:
  `materialize()` does not use the profile's Celery executor.

Two modes (`--modes`): `inprocess`, the above (the data-work baseline), and `ui`, the same history
as a user launches it: the platform running as deployed (`dagster dev`; the production stack with
its daemon and Celery workers), one `launchPartitionBackfill` of every asset, over all partitions
of the partitions definition and over the data's range only (benchmarks/ui_backfill.py), timed
from the first run's start to gold and broken down into data work, Dagster's bookkeeping, run
launches and the daemon's waits.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform as host
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from benchmarks import ui_backfill
from benchmarks.process_tree import Measured, measure
from data_platform import settings
from data_platform.resources.warehouse import Warehouse
from data_platform.simulate.oracle import expected, mismatches
from deploy.production_stack import ProductionStack

GIB = 1024**3
PROFILES = ("local", "production")
# inprocess: dg.materialize() in one process (the data-work baseline); ui: a backfill launched
# with the UI's GraphQL mutation on the running platform (benchmarks/ui_backfill.py)
MODES = ("inprocess", "ui")
EQUAL = "equal to the oracle"
UPLOAD_THREADS = 16
Oracle = dict[str, tuple[list[str], list[tuple[str, ...]]]]


@dataclass
class Pipeline:
    name: str
    measured: Measured
    result: str
    runs: dict[str, float] = field(default_factory=dict)
    breakdown: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    ui: ui_backfill.Outcome | None = None

    @property
    def run_seconds(self) -> float:
        if self.ui is not None:
            return self.ui.from_first_start
        return sum(self.runs.values()) if self.runs else self.measured.seconds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor")
    parser.add_argument("--workdir", default=None, help="where data goes (default: a temp dir)")
    parser.add_argument(
        "--profiles",
        default=",".join(PROFILES),
        help=f"the platform's profiles to run, comma-separated (default: {','.join(PROFILES)})",
    )
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="inprocess (dg.materialize in one process), ui (a backfill launched with the UI's "
        f"GraphQL mutation on the running platform), comma-separated (default: {','.join(MODES)})",
    )
    parser.add_argument(
        "--ui-variants",
        default=",".join(ui_backfill.VARIANTS),
        help="the UI backfills: 'all partitions' (allPartitions, through today) and 'data range' "
        "(the first to the last landed order date), comma-separated (default: both)",
    )
    parser.add_argument(
        "--ui-timeout",
        type=float,
        default=7200,
        help="seconds a UI backfill may take before it is given up (default: 7200)",
    )
    args = parser.parse_args()
    args.profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    unknown = set(args.profiles) - set(PROFILES)
    if unknown:
        parser.error(f"unknown profiles {sorted(unknown)}: choose from {', '.join(PROFILES)}")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(MODES)
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}: choose from {', '.join(MODES)}")
    args.ui_variants = [v.strip() for v in args.ui_variants.split(",") if v.strip()]
    unknown = set(args.ui_variants) - set(ui_backfill.VARIANTS)
    if unknown:
        parser.error(f"unknown UI variants {sorted(unknown)}: {', '.join(ui_backfill.VARIANTS)}")
    return args


def land(workdir: Path, scale_factor: float) -> tuple[Path, str, str]:
    landing = workdir / f"landing-sf{scale_factor:g}"
    if not (landing / "orders").exists():
        command = [sys.executable, "-m", "data_platform.simulate", "--sf", str(scale_factor)]
        measured = measure([*command, "--out", str(landing)])
        if measured.returncode:
            raise SystemExit("the simulator failed")
    days = sorted(p.name for p in (landing / "orders").iterdir())
    return landing, days[0], days[-1]


def backfill(
    target: Path, env: dict[str, str], first: str, last: str, services: tuple[int, ...] = ()
) -> tuple[Measured, dict[str, Any]]:
    env = {
        **env,
        "DAGSTER_EVENT_BATCH_SIZE": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "100000"),
    }
    report = target / "timings.json"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.platform_backfill", first, last, str(report)]
    measured = measure(command, env=env, services=services)
    timings = json.loads(report.read_text()) if report.exists() else {}
    return measured, timings


def run_local(workdir: Path, landing: Path, first: str, last: str, oracle: Oracle) -> Pipeline:
    target = workdir / "platform"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    env = {
        **os.environ,
        "PLATFORM_PROFILE": "local",
        "DAGSTER_HOME": str(target / "dagster_home"),
        "PLATFORM_LANDING_DIR": str(landing),
        "PLATFORM_LAKE_DIR": str(target / "lake"),
        "PLATFORM_WAREHOUSE_PATH": str(target / "warehouse.duckdb"),
    }
    measured, timings = backfill(target, env, first, last)
    warehouse = target / "warehouse.duckdb"
    result = check_file(warehouse, oracle) if not measured.returncode else "FAILED"
    return Pipeline(
        "platform local",
        measured,
        result,
        timings.get("runs", {}),
        timings.get("breakdown", {}),
        ["instance in SQLite; landing and lake on local disk; gold a DuckDB file"],
    )


def run_production(workdir: Path, landing: Path, first: str, last: str, oracle: Oracle) -> Pipeline:
    target = workdir / "production"
    shutil.rmtree(target, ignore_errors=True)
    stack = ProductionStack(target, name=f"bench_{uuid.uuid4().hex[:8]}")
    env: dict[str, str] = {}
    try:
        stack.prepare()
        env = stack.env()
        files, upload_seconds = upload(stack, landing)
        moto = stack.processes.get("s3")
        measured, timings = backfill(target, env, first, last, services=(moto.pid,) if moto else ())
        result = check_ducklake(env, oracle) if not measured.returncode else "FAILED"
    finally:
        stack.stop()
        stack.drop_services()
        if env:
            with contextlib.suppress(OSError):
                shutil.rmtree(warehouse_of(env).dbt_target_dir())
    notes = [
        "instance in PostgreSQL; landing and lake on moto S3; gold a DuckLake (catalog in "
        "PostgreSQL, data on moto S3)",
        "steps in the backfill's process (materialize() runs in-process; Celery is not used)",
        f"landing upload to the bucket, not counted: {files} files in {upload_seconds:.1f}s",
    ]
    if measured.services_peak_bytes:
        notes.append(
            f"moto S3 server peak {measured.services_peak_bytes / GIB:.2f} GiB, not counted "
            "(nor PostgreSQL's)"
        )
    return Pipeline(
        "platform production",
        measured,
        result,
        timings.get("runs", {}),
        timings.get("breakdown", {}),
        notes,
    )


def ui_pipeline(outcome: ui_backfill.Outcome, result: str) -> Pipeline:
    measured = Measured(
        seconds=outcome.wall,
        peak_bytes=outcome.peak_bytes,
        returncode=outcome.returncode,
        services_peak_bytes=outcome.services_peak_bytes,
    )
    if outcome.error:
        result = f"FAILED: {outcome.error}"
    elif outcome.failed_runs:
        result = f"{result} ({outcome.failed_runs} runs failed)"
    name = f"platform {outcome.profile} (UI backfill, {outcome.variant})"
    return Pipeline(name, measured, result, notes=outcome.notes, ui=outcome)


def run_ui_local(
    workdir: Path,
    landing: Path,
    variant: str,
    first: str,
    last: str,
    oracle: Oracle,
    timeout: float,
) -> Pipeline:
    root = workdir / f"ui-local-{variant.replace(' ', '-')}"
    outcome, warehouse = ui_backfill.run_local(root, landing, variant, first, last, timeout)
    result = "FAILED"
    if not outcome.returncode:
        try:
            result = check_file(warehouse, oracle)
        except Exception as error:
            result = f"FAILED: {error}"
    return ui_pipeline(outcome, result)


def run_ui_production(
    workdir: Path,
    landing: Path,
    variant: str,
    first: str,
    last: str,
    oracle: Oracle,
    timeout: float,
) -> Pipeline:
    target = workdir / f"ui-production-{variant.replace(' ', '-')}"
    shutil.rmtree(target, ignore_errors=True)
    stack = ProductionStack(target, name=f"bench_{uuid.uuid4().hex[:8]}")
    env: dict[str, str] = {}
    result = "FAILED"
    try:
        outcome, env = ui_backfill.run_production(
            stack, lambda s: upload(s, landing), variant, first, last, timeout
        )
        if not outcome.returncode:
            try:
                result = check_ducklake(env, oracle)
            except Exception as error:
                result = f"FAILED: {error}"
    finally:
        stack.stop()
        stack.drop_services()
        if env:
            with contextlib.suppress(OSError):
                shutil.rmtree(warehouse_of(env).dbt_target_dir())
    if outcome.services_peak_bytes:
        outcome.notes.append(
            f"moto S3 server peak {outcome.services_peak_bytes / GIB:.2f} GiB, not counted "
            "(nor PostgreSQL's)"
        )
    return ui_pipeline(outcome, result)


def upload(stack: ProductionStack, landing: Path) -> tuple[int, float]:
    """The landed files into the bucket's `landing/` prefix, as the simulator would write them."""
    started = time.perf_counter()
    client: Any = stack.s3()
    files = [path for path in landing.rglob("*") if path.is_file()]

    def put(path: Path) -> None:
        key = f"landing/{path.relative_to(landing).as_posix()}"
        client.upload_file(str(path), stack.services.bucket, key)

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(put, files))
    return len(files), time.perf_counter() - started


def run_plain(workdir: Path, landing: Path, oracle: Oracle) -> Pipeline:
    database = workdir / "plain.duckdb"
    command = [sys.executable, "-m", "benchmarks.plain_pipeline", str(landing), str(database)]
    measured = measure(command)
    result = check_file(database, oracle) if not measured.returncode else "FAILED"
    return Pipeline("plain DuckDB SQL", measured, result)


def check_file(database: Path, oracle: Oracle) -> str:
    with duckdb.connect(str(database), read_only=True) as connection:
        return verdict(mismatches(connection, oracle))


def warehouse_of(env: dict[str, str]) -> Warehouse:
    return Warehouse(
        lake_dir=env["PLATFORM_LAKE_DIR"],
        catalog=env["PLATFORM_GOLD_CATALOG"],
        data_path=env["PLATFORM_GOLD_DATA_PATH"],
    )


def check_ducklake(env: dict[str, str], oracle: Oracle) -> str:
    with ui_backfill.environment(env), warehouse_of(env).connect() as connection:
        return verdict(mismatches(connection, oracle))


def verdict(problems: list[str]) -> str:
    return EQUAL if not problems else f"WRONG: {problems[:3]}"


def report(pipelines: list[Pipeline], sf: float, first: str, last: str) -> None:
    plain = pipelines[0].measured
    width = max(len(p.name) for p in pipelines) + 1
    print(
        f"\nTPC-H SF {sf:g}, {first} .. {last}, {os.cpu_count()} cores, "
        f"{host.machine()}, {dt.date.today()}"
    )
    print(
        f"{'pipeline':<{width}}{'process s':>10}{'runs s':>9}{'peak GiB':>9}"
        f"{'x time':>8}{'x runs':>8}{'x mem':>7}  result"
    )
    for p in pipelines:
        m = p.measured
        print(
            f"{p.name:<{width}}{m.seconds:>10.1f}{p.run_seconds:>9.1f}{m.peak_bytes / GIB:>9.2f}"
            f"{m.seconds / plain.seconds:>8.2f}{p.run_seconds / plain.seconds:>8.2f}"
            f"{m.peak_bytes / max(plain.peak_bytes, 1):>7.2f}  {p.result}"
        )
    print(
        "process s: the whole process tree (imports, definitions, instance); runs s: the three "
        "materialize() calls; x: ratio to plain DuckDB"
    )
    if any(p.ui for p in pipelines):
        print(
            "UI backfill rows: process s: launchPartitionBackfill requested -> the last run "
            "ended (gold complete, then checked); runs s: the first run's RUN_START -> the last "
            "run ended (the headline); peak: the platform's processes (dagster dev's group; the "
            "production stack's code server, webserver, daemon, workers and run workers) while "
            "the backfill ran"
        )
    ui_report([p for p in pipelines if p.ui])
    for p in pipelines[1:]:
        if p.ui:
            continue
        print(f"\n{p.name}: where the time goes")
        for note in p.notes:
            print(f"  ({note})")
        if not p.runs:
            continue
        other = p.measured.seconds - p.run_seconds
        print(f"  outside the runs (start-up: imports, definitions, instance): {other:.1f}s")
        print(
            f"  {'materialize':<15}{'wall s':>8}{'steps':>7}{'in steps':>10}{'between':>9}"
            f"{'before':>8}{'planned':>8}{'after':>7}  slowest steps"
        )
        for name, seconds in p.runs.items():
            b = p.breakdown.get(name, {})
            slowest = ", ".join(f"{key} {s:.1f}s" for key, s in b.get("slowest", []))
            print(
                f"  {name:<15}{seconds:>8.1f}{b.get('steps', 0):>7}{b.get('in steps', 0):>10.1f}"
                f"{b.get('between steps', 0):>9.1f}{b.get('before run', 0):>8.1f}"
                f"{b.get('planned events', 0):>8}"
                f"{b.get('after run', 0):>7.1f}  {slowest}"
            )
    if not any(p.runs for p in pipelines):
        return
    print(
        "\nin steps: sum of STEP_START -> STEP_SUCCESS (the data work, with loading inputs and "
        "storing outputs); between: the rest of RUN_START -> RUN_SUCCESS (the executor's "
        "bookkeeping between steps); before: materialize() called -> RUN_START (job build, run "
        "creation, and the run's ASSET_MATERIALIZATION_PLANNED events, each written on its "
        "own: one per asset and partition, or one per asset with the range where "
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS is set; planned: how many); after: "
        "RUN_SUCCESS -> materialize() returned"
    )


def ui_report(pipelines: list[Pipeline]) -> None:
    outcomes = [p.ui for p in pipelines if p.ui]
    if not outcomes:
        return
    by_key = {(o.profile, o.variant): o for o in outcomes}
    for profile in PROFILES:
        every, range_ = by_key.get((profile, "all partitions")), by_key.get((profile, "data range"))
        if every and range_ and (every.error or range_.error):
            print(f"platform {profile}: all partitions / data range: n/a (a backfill failed)")
        elif every and range_ and range_.wall and range_.from_first_start:
            print(
                f"platform {profile}: all partitions ({every.partitions}) / data range "
                f"({range_.partitions}): {every.wall / range_.wall:.2f}x from the request, "
                f"{every.from_first_start / range_.from_first_start:.2f}x from the first run's "
                "start (target <= 1.2x)"
            )
    print(
        "\nUI backfills: where the time goes, request -> last run ended (s; each instant "
        "counted once, in the first bucket that applies)"
    )
    print(
        f"  {'profile':<11}{'partitions':<16}{'start-up':>9}{'wall':>8}{'1st start':>10}"
        f"{'runs':>5}{'data':>8}{'in runs':>8}{'creation':>9}{'launch':>8}{'daemon':>8}"
        f"{'to 1st run':>11}"
    )
    for o in outcomes:
        b = o.buckets
        print(
            f"  {o.profile:<11}{o.variant:<16}{o.startup_seconds:>9.1f}{o.wall:>8.1f}"
            f"{o.from_first_start:>10.1f}{o.runs:>5}{b.get(ui_backfill.DATA, 0):>8.1f}"
            f"{b.get(ui_backfill.BOOKKEEPING, 0):>8.1f}{b.get(ui_backfill.PLANNED, 0):>9.1f}"
            f"{b.get(ui_backfill.LAUNCH, 0):>8.1f}{b.get(ui_backfill.WAIT, 0):>8.1f}"
            f"{o.to_first_run:>11.1f}"
        )
    print(
        "  start-up: the platform up to a loaded code location (not counted); wall: request -> "
        "last run ended; 1st start: first RUN_START -> last run ended; data: a step running "
        "(STEP_START -> STEP_SUCCESS, with loading inputs and storing outputs); in runs: a run "
        "running outside steps (Dagster's bookkeeping); creation: a run created -> its "
        "RUN_ENQUEUED (its ASSET_MATERIALIZATION_PLANNED events written and the run submitted "
        "by the backfill daemon: bookkeeping); launch: RUN_ENQUEUED -> RUN_START (queue, run "
        "worker start); daemon: no run "
        "created or running (the backfill daemon's waits: before the first run, between runs); "
        "to 1st run: request -> first run created; in the runs' tables, planned#: the run's "
        "ASSET_MATERIALIZATION_PLANNED events"
    )
    for p in pipelines:
        done = p.ui
        assert done is not None
        print(f"\n{p.name}: runs (s from the request)")
        for note in done.notes:
            print(f"  ({note})")
        if not done.run_rows:
            continue
        origin = done.run_rows[0]["created"] - done.to_first_run
        print(
            f"  {'run':<10}{'status':<9}{'partitions':<24}{'created':>8}{'planned#':>9}"
            f"{'started':>8}{'ended':>8}{'steps':>6}{'in steps':>9}  slowest steps"
        )
        for row in done.run_rows:
            slowest = ", ".join(f"{key} {s:.1f}s" for key, s in row["slowest"])
            print(
                f"  {row['run']:<10}{row['status']:<9}{row['partitions']:<24}"
                f"{row['created'] - origin:>8.1f}{row['planned']:>9}"
                f"{row['started'] - origin:>8.1f}{row['ended'] - origin:>8.1f}"
                f"{row['step_count']:>6}{row['in steps']:>9.1f}  {slowest}"
            )


def main() -> int:
    args = parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    landing, first, last = land(workdir, args.sf)
    # one pseudonym salt for every pipeline and the oracle (the production stack takes it too)
    os.environ.setdefault(settings.PSEUDONYM_SALT, secrets.token_hex(16))
    oracle = expected(args.sf)
    pipelines = [run_plain(workdir, landing, oracle)]
    for profile in args.profiles:
        if "inprocess" in args.modes:
            run = run_local if profile == "local" else run_production
            pipelines.append(run(workdir, landing, first, last, oracle))
        if "ui" in args.modes:
            ui = run_ui_local if profile == "local" else run_ui_production
            for variant in args.ui_variants:
                timeout = args.ui_timeout
                pipelines.append(ui(workdir, landing, variant, first, last, oracle, timeout))
    report(pipelines, args.sf, first, last)
    failed = [p.name for p in pipelines if p.measured.returncode]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 0 if not failed and all(p.result == EQUAL for p in pipelines) else 1


if __name__ == "__main__":
    sys.exit(main())
