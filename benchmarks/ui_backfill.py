"""The full-history backfill as a user launches it: the UI's GraphQL `launchPartitionBackfill`.

The platform runs as it is deployed (`dagster dev` for the local profile; the production stack,
every process its own, for the production profile), with its landing sensor and automation
sensor stopped before its daemon starts, so that only the backfill builds. One mutation requests
every materializable asset (the UI's *Materialize all*, unpartitioned dimensions and gold reports
included) over all partitions of the partitions definition (`allPartitions`, through today) or
over the data's range only (`partitionNames`, the first to the last landed order date). The
backfill daemon submits its runs; once the backfill is complete and every run ended, gold is
checked against the oracle (by the caller).

Read back from the instance afterwards: when each run was created (its first event: the planned
events the submitting process writes), started (RUN_START) and ended, and its steps. The window
from the request to the last run's end is cut into what was happening at each instant, the first
that applies: a step running (data work), a run running outside its steps or a run's planned
events being written (Dagster bookkeeping), a run created but not started (launch), nothing
(daemon waits: before the first run, and between one run's end and the next run's creation).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from benchmarks.process_tree import tree_rss
from data_platform.compat import record_sensor_stopped
from data_platform.settings import PARTITIONS_START, TPCH_FIRST_ORDER_DATE
from deploy import local_dev
from deploy.production_stack import ProductionStack, until

GRAPHQL_TIMEOUT = 600.0
LOCATION = "data_platform"
REPOSITORY = "__repository__"
# the sensors that would request runs of their own beside the backfill
QUIET_SENSORS = ("landing_sensor", "automation_sensor")
VARIANTS = ("all partitions", "data range")
SAMPLE_SECONDS = 0.5
RUN_END = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE)
STEP_END = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.RUN_ENQUEUED,
    dg.DagsterEventType.RUN_START,
    *RUN_END,
    dg.DagsterEventType.RUN_CANCELED,
    dg.DagsterEventType.STEP_START,
    *STEP_END,
}
# the buckets of the breakdown, in the order an instant is given to the first that applies
DATA, BOOKKEEPING, PLANNED, LAUNCH, WAIT = (
    "data work",
    "bookkeeping in runs",
    "run creation",
    "launches",
    "daemon waits",
)
BUCKETS = (DATA, BOOKKEEPING, PLANNED, LAUNCH, WAIT)

ASSETS_QUERY = "{ assetNodes { assetKey { path } isMaterializable isPartitioned } }"
LAUNCH_MUTATION = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
SENSOR_QUERY = """
query Sensor($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { id selectorId status } }
  }
}
"""
STOP_SENSOR = """
mutation Stop($origin: String, $selector: String) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selector) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}
"""


@dataclass
class Outcome:
    """One UI backfill: timings read back from the instance, and what the check found."""

    profile: str
    variant: str
    partitions: int = 0
    runs: int = 0
    failed_runs: int = 0
    # backfill requested -> the last run ended (gold complete)
    wall: float = 0.0
    # the first run's RUN_START -> the last run ended: the headline
    from_first_start: float = 0.0
    # backfill requested -> the first run created (the daemon's first submission)
    to_first_run: float = 0.0
    buckets: dict[str, float] = field(default_factory=dict)
    run_rows: list[dict[str, Any]] = field(default_factory=list)
    peak_bytes: int = 0
    services_peak_bytes: int = 0
    startup_seconds: float = 0.0
    returncode: int = 0
    error: str = ""
    notes: list[str] = field(default_factory=list)


# -- the platform, as deployed ------------------------------------------------------------------


class Platform:
    """What the benchmark needs of a running platform."""

    url: str

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        # a backfill's launch over every partition answers slowly
        return local_dev.graphql(self.url, query, variables, timeout=GRAPHQL_TIMEOUT)

    def pids(self) -> tuple[list[int], list[int]]:
        """The roots of the platform's process trees, and of the services it uses apart."""
        raise NotImplementedError


class DagsterDev(local_dev.DagsterDev, Platform):
    """`dagster dev` (webserver, daemon, code server, run workers) in its own process group, its
    `DAGSTER_HOME` under `root`, configured as `make run` configures it."""

    graphql_timeout = GRAPHQL_TIMEOUT

    def __init__(self, root: Path, env: dict[str, str], instance_yaml: Path) -> None:
        self.root = root
        super().__init__(root / "dagster_home", env, instance_yaml)

    def pids(self) -> tuple[list[int], list[int]]:
        return ([self.process.pid] if self.process else []), []


class Stack(Platform):
    """The production stack (`deploy/production_stack.py`), already prepared and started."""

    def __init__(self, stack: ProductionStack) -> None:
        self.stack = stack
        self.url = stack.url

    def pids(self) -> tuple[list[int], list[int]]:
        platform = [p.pid for name, p in self.stack.processes.items() if name != "s3"]
        moto = self.stack.processes.get("s3")
        return platform, ([moto.pid] if moto else [])


# -- the instance ---------------------------------------------------------------------------------


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def open_instance(env: dict[str, str]) -> Iterator[dg.DagsterInstance]:
    """The platform's instance, opened from this process as its daemon opens it."""
    with environment(env), dg.DagsterInstance.get() as instance:
        yield instance


def stop_sensors_in_storage(instance: dg.DagsterInstance) -> None:
    """Record the sensors that would request runs beside the backfill as stopped, before any
    daemon starts: a stored STOPPED state overrides the sensor's default RUNNING."""
    for sensor in QUIET_SENSORS:
        automation = sensor == "automation_sensor"
        record_sensor_stopped(instance, LOCATION, sensor, automation, repository=REPOSITORY)


def ensure_sensors_stopped(platform: Platform) -> list[str]:
    """What the UI shows of the quiet sensors; any still running is stopped (`stopSensor`)."""
    seen = []
    for sensor in QUIET_SENSORS:
        selector = {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "sensorName": sensor,
        }
        found = platform.graphql(SENSOR_QUERY, {"selector": selector})["sensorOrError"]
        state = found.get("sensorState") or {}
        if state.get("status") == "RUNNING":
            platform.graphql(STOP_SENSOR, {"origin": state["id"], "selector": state["selectorId"]})
            seen.append(f"{sensor} stopped with stopSensor")
        else:
            seen.append(f"{sensor} {state.get('status', found['__typename'])}")
    return seen


# -- the backfill ---------------------------------------------------------------------------------


def days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def launch(platform: Platform, variant: str, first: str, last: str) -> tuple[str, float, int]:
    """`launchPartitionBackfill` as the UI's *Materialize all* sends it: every materializable
    asset; all partitions, or the data's range by name. Returns the backfill's id, when it was
    requested and how many partitions it has."""
    nodes = platform.graphql(ASSETS_QUERY)["assetNodes"]
    selection = [{"path": n["assetKey"]["path"]} for n in nodes if n["isMaterializable"]]
    params: dict[str, Any] = {"assetSelection": selection, "tags": [], "fromFailure": False}
    if variant == "all partitions":
        params["allPartitions"] = True
    else:
        params["partitionNames"] = days(first, last)
    requested = time.time()
    found = platform.graphql(LAUNCH_MUTATION, {"params": params})["launchPartitionBackfill"]
    if found["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"launchPartitionBackfill: {found}")
    if variant == "all partitions":
        # the daily partitions definition: from the configured start through today (UTC)
        start = os.environ.get(PARTITIONS_START) or TPCH_FIRST_ORDER_DATE
        count = len(days(start, dt.datetime.now(dt.UTC).date().isoformat()))
    else:
        count = len(params["partitionNames"])
    return found["backfillId"], requested, count


def finished(instance: dg.DagsterInstance, backfill_id: str) -> bool:
    backfill = instance.get_backfill(backfill_id)
    if backfill is None or backfill.status.value == "REQUESTED":
        return False
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    return all(run.is_finished for run in runs)


class Sampler:
    """Peak resident memory of process trees, sampled in a thread until stopped."""

    def __init__(self, roots: Callable[[], tuple[list[int], list[int]]]) -> None:
        self.roots, self.peak, self.services_peak = roots, 0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.done.is_set():
            platform, services = self.roots()
            self.peak = max(self.peak, sum(tree_rss(pid) for pid in platform))
            self.services_peak = max(self.services_peak, sum(tree_rss(pid) for pid in services))
            time.sleep(SAMPLE_SECONDS)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()


def backfill(
    platform: Platform,
    env: dict[str, str],
    outcome: Outcome,
    first: str,
    last: str,
    timeout: float,
) -> None:
    """Launch, wait for every run to end, and read the timings back into `outcome`."""
    with open_instance(env) as instance, Sampler(platform.pids) as sampler:
        outcome.notes.extend(ensure_sensors_stopped(platform))
        backfill_id, requested, outcome.partitions = launch(platform, outcome.variant, first, last)
        try:
            until(
                lambda: finished(instance, backfill_id),
                timeout,
                every=1,
                why=f"backfill {backfill_id} to complete",
            )
        except TimeoutError as error:
            # what ran is still read back: the table shows which run did not end
            outcome.returncode, outcome.error = 1, str(error)
        sampler.done.set()
        outcome.peak_bytes, outcome.services_peak_bytes = sampler.peak, sampler.services_peak
        read_back(instance, backfill_id, requested, outcome)


def read_back(
    instance: dg.DagsterInstance, backfill_id: str, requested: float, outcome: Outcome
) -> None:
    records = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    intervals: dict[str, list[tuple[float, float]]] = {bucket: [] for bucket in BUCKETS}
    rows = []
    for record in records:
        row = run_timeline(instance, record)
        rows.append(row)
        intervals[PLANNED].append((row["created"], row["planned_end"]))
        intervals[LAUNCH].append((row["planned_end"], row["started"]))
        intervals[BOOKKEEPING].append((row["started"], row["ended"]))
        intervals[DATA].extend(row.pop("steps"))
    rows.sort(key=lambda row: row["created"])
    outcome.run_rows = rows
    outcome.runs = len(rows)
    outcome.failed_runs = sum(1 for row in rows if row["status"] != "SUCCESS")
    if not rows:
        outcome.error = "the backfill launched no run"
        return
    end = max(row["ended"] for row in rows)
    outcome.wall = end - requested
    outcome.from_first_start = end - min(row["started"] for row in rows)
    outcome.to_first_run = rows[0]["created"] - requested
    outcome.buckets = attribute(requested, end, intervals)


def run_timeline(instance: dg.DagsterInstance, record: Any) -> dict[str, Any]:
    run = record.dagster_run
    events = instance.all_logs(run.run_id, of_type=EVENTS)
    created = record.create_timestamp.timestamp()
    first_event = min((e.timestamp for e in events), default=created)
    planned = [
        e.timestamp
        for e in events
        if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ]
    enqueued = [
        e.timestamp for e in events if e.dagster_event_type == dg.DagsterEventType.RUN_ENQUEUED
    ]
    # the row's creation time has a second's precision on SQLite: the run's first event is
    # written within milliseconds of it
    created = max(created, first_event) if first_event - created < 1.5 else created
    planned_end = max([*planned, *enqueued[:1]], default=created)
    started = record.start_time or planned_end
    ended = record.end_time or max((e.timestamp for e in events), default=started)
    step_start: dict[str, float] = {}
    steps: list[tuple[float, float]] = []
    names: dict[str, float] = {}
    for event in events:
        kind = event.dagster_event_type
        if kind == dg.DagsterEventType.STEP_START and event.step_key:
            step_start[event.step_key] = event.timestamp
        elif kind in STEP_END and event.step_key in step_start:
            begun = step_start.pop(event.step_key)
            steps.append((begun, event.timestamp))
            names[event.step_key] = names.get(event.step_key, 0.0) + event.timestamp - begun
    slowest = sorted(names.items(), key=lambda item: -item[1])[:2]
    label = run.tags.get("dagster/asset_partition_range_start")
    if label:
        label = f"{label}..{run.tags.get('dagster/asset_partition_range_end')}"
    else:
        label = run.tags.get("dagster/partition", "unpartitioned")
    return {
        "run": run.run_id[:8],
        "status": run.status.value,
        "partitions": label,
        "created": created,
        "planned_end": planned_end,
        "started": started,
        "ended": ended,
        "planned": len(planned),
        "steps": steps,
        "step_count": len(names),
        "in steps": sum(names.values()),
        "slowest": slowest,
    }


def attribute(
    start: float, end: float, intervals: dict[str, list[tuple[float, float]]]
) -> dict[str, float]:
    """[start, end) cut at every interval's ends; each piece goes to the first bucket (in
    BUCKETS' order) with an interval covering it, else to the daemon's waits."""
    cuts = sorted(
        {start, end}
        | {t for spans in intervals.values() for span in spans for t in span if start < t < end}
    )
    totals = dict.fromkeys(BUCKETS, 0.0)
    for left, right in itertools.pairwise(cuts):
        middle = (left + right) / 2
        bucket = next(
            (
                name
                for name in BUCKETS[:-1]
                if any(a <= middle < b for a, b in intervals.get(name, []))
            ),
            WAIT,
        )
        totals[bucket] += right - left
    return totals


# -- per profile ----------------------------------------------------------------------------------


def run_local(
    root: Path, landing: Path, variant: str, first: str, last: str, timeout: float
) -> tuple[Outcome, Path]:
    """`dagster dev` over a fresh lake and warehouse; returns the outcome and the warehouse."""
    from data_platform import profiles

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    outcome = Outcome("local", variant)
    env = {
        **os.environ,
        "PLATFORM_PROFILE": "local",
        "PLATFORM_LANDING_DIR": str(landing),
        "PLATFORM_LAKE_DIR": str(root / "lake"),
        "PLATFORM_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
    }
    platform = DagsterDev(root, env, profiles.instance_template("local"))
    try:
        with open_instance(platform.env) as instance:
            stop_sensors_in_storage(instance)
        started = time.perf_counter()
        platform.start(timeout=300, every=1)
        outcome.startup_seconds = time.perf_counter() - started
        backfill(platform, platform.env, outcome, first, last, timeout)
    except Exception as error:
        outcome.returncode, outcome.error = 1, f"{type(error).__name__}: {error}"[:400]
        with contextlib.suppress(Exception):
            outcome.notes.append(f"dagster dev log: {platform.log_tail(5)}")
    finally:
        platform.stop()
    outcome.notes.insert(0, "dagster dev (webserver, daemon, code server); instance in SQLite")
    return outcome, root / "warehouse.duckdb"


def run_production(
    stack: ProductionStack,
    upload: Callable[[ProductionStack], tuple[int, float]],
    variant: str,
    first: str,
    last: str,
    timeout: float,
) -> tuple[Outcome, dict[str, str]]:
    """The production stack, prepared, its bucket loaded, then started; the caller drops it."""
    outcome = Outcome("production", variant)
    env: dict[str, str] = {}
    try:
        stack.prepare()
        env = stack.env()
        with open_instance(env) as instance:
            stop_sensors_in_storage(instance)
        files, seconds = upload(stack)
        outcome.notes.append(f"landing upload, not counted: {files} files in {seconds:.1f}s")
        started = time.perf_counter()
        stack.start()
        outcome.startup_seconds = time.perf_counter() - started
        backfill(Stack(stack), env, outcome, first, last, timeout)
    except Exception as error:
        outcome.returncode, outcome.error = 1, f"{type(error).__name__}: {error}"[:400]
    finally:
        # the object store stays up for the caller's check of gold (its data is on moto's S3);
        # the caller stops it
        for name in [name for name in stack.processes if name != "s3"]:
            stack.stop_process(name)
    outcome.notes.insert(
        0,
        f"production stack: code server, webserver, daemon, {stack.workers} Celery workers; "
        "instance in PostgreSQL; moto S3",
    )
    return outcome, env
