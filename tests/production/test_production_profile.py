"""The production profile as deployed, on this machine's real services: the instance on
PostgreSQL, landing zone, lake, gold (a DuckLake) and compute logs on an S3 server (moto), the
code location as a gRPC server, webserver and daemon as their own processes, steps on two Celery
workers through RabbitMQ (`deploy/production_stack.py`, what `make run-prod` starts).

The tests build on one another in order: the history lands and the sensors and automation alone
bring gold to the TPC-H oracle; a new day lands while a BI client holds gold open; a Celery worker
is killed in the middle of a step and the run still ends with correct gold. Figures are recorded,
not asserted.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_platform.definitions import build_definitions
from data_platform.resources.warehouse import Warehouse
from data_platform.simulate.oracle import expected, mismatches
from deploy.production_stack import ProductionStack, until
from tests.conftest import gold_keys, tbl_line, tbl_order
from tests.platform_server import day_in_gold, materialized_after

pytestmark = pytest.mark.slow

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
Oracle = dict[str, tuple[list[str], list[tuple[str, ...]]]]


class Production:
    """The running stack, seen from outside: its instance, its bucket, its gold."""

    def __init__(self, stack: ProductionStack) -> None:
        self.stack = stack
        self.env = stack.env()
        self.started = time.time()
        self._instance: dg.DagsterInstance | None = None

    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            self._instance = dg.DagsterInstance.from_config(str(self.stack.home))
        return self._instance

    def warehouse(self) -> Warehouse:
        return Warehouse(
            lake_dir=self.env["PLATFORM_LAKE_DIR"],
            catalog=self.env["PLATFORM_GOLD_CATALOG"],
            data_path=self.env["PLATFORM_GOLD_DATA_PATH"],
        )

    def land(self, key: str, content: str) -> None:
        self.stack.s3().put_object(  # type: ignore[attr-defined]
            Bucket=self.stack.services.bucket, Key=f"landing/{key}", Body=content.encode()
        )

    def land_day(self, day: str, order: int, customer: int, price: str) -> None:
        self.land(f"lineitem/{day}/late_{order}.tbl", tbl_line(order, day, price=price) + "\n")
        self.land(f"orders/{day}/late_{order}.tbl", tbl_order(order, day, customer=customer) + "\n")

    def runs_since(self, moment: float) -> list[dg.DagsterRun]:
        return list(
            self.instance().get_runs(
                filters=dg.RunsFilter(created_after=dt.datetime.fromtimestamp(moment, dt.UTC))
            )
        )

    def idle(self) -> bool:
        if self.instance().get_runs(filters=dg.RunsFilter(statuses=ACTIVE), limit=1):
            return False
        return all(b.status.value != "REQUESTED" for b in self.instance().get_backfills(limit=20))

    def materialized_after(self, key: dg.AssetKey, since: float, partition: str | None) -> float:
        return materialized_after(self.instance(), key, since, partition)

    def gold_day(self, day: str) -> list[tuple[object, ...]]:
        with self.warehouse().connect() as connection:
            return connection.execute(
                "select nation, order_count, revenue from gold.daily_revenue_by_nation"
                " where order_date = ? order by nation",
                [dt.date.fromisoformat(day)],
            ).fetchall()

    def customer_nation(self, customer: int) -> str:
        with self.warehouse().connect() as connection:
            row = connection.execute(
                "select nation from gold.customer_lifetime_value where c_custkey = ?", [customer]
            ).fetchone()
        assert row is not None
        return str(row[0])


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    stack = ProductionStack(
        tmp_path_factory.mktemp("production"),
        name=f"e2e_{uuid.uuid4().hex[:8]}",
        extra_env={
            "PLATFORM_SENSOR_INTERVAL_SECONDS": "3",
            "PLATFORM_AUTOMATION_INTERVAL_SECONDS": "3",
        },
    )
    with pytest.MonkeyPatch.context() as patch:
        try:
            # the history is in the bucket before the platform starts: its first tick sees all
            stack.prepare().land_demo(0.01)
            with stack.running():
                # this process reads the same instance and gold as the stack's processes
                for name, value in stack.env().items():
                    patch.setenv(name, value)
                yield Production(stack)
        finally:
            stack.drop_services()


@pytest.fixture(scope="module")
def oracle(production: Production) -> Oracle:
    # gold's customer names are pseudonyms keyed by the stack's salt
    return expected(0.01, pseudonym_salt=production.stack.pseudonym_salt)


def test_the_history_landed_in_the_bucket_reaches_correct_gold_by_itself(
    production: Production, oracle: Oracle, record_property: Callable[[str, object], None]
) -> None:
    landed = production.started
    reports = gold_keys(build_definitions(), daily=False)

    def correct() -> bool:
        if not production.idle() or not all(
            production.materialized_after(key, landed, None) for key in reports
        ):
            return False
        with production.warehouse().connect() as connection:
            return mismatches(connection, oracle) == []

    until(correct, timeout=2400, every=5, why="gold equal to the TPC-H oracle")
    record_property("production_first_load_seconds", round(time.time() - landed, 1))
    runs = production.runs_since(landed)
    record_property("production_first_load_runs", len(runs))
    failed = [run.run_id for run in runs if run.status != dg.DagsterRunStatus.SUCCESS]
    assert not failed, f"runs that did not succeed: {failed}"


def test_independent_steps_of_a_run_ran_on_both_workers_at_the_same_time(
    production: Production,
) -> None:
    """Each worker takes one step at a time (`--concurrency 1`), so two steps of a run that were
    in progress together, in two processes, ran on the two workers."""
    spans: list[tuple[float, float, int, str]] = []
    ended = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    for run in production.runs_since(production.started):
        starts, ends = {}, {}
        for entry in production.instance().all_logs(run.run_id):
            event = entry.dagster_event
            if event is None or not entry.step_key:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START and event.pid:
                starts[entry.step_key] = (entry.timestamp, event.pid)
            elif event.event_type in ended:
                ends[entry.step_key] = entry.timestamp
        spans += [(t, ends[k], pid, k) for k, (t, pid) in starts.items() if k in ends]
    together = [
        (a[3], b[3])
        for a in spans
        for b in spans
        if a[3] < b[3] and a[2] != b[2] and a[0] < b[1] and b[0] < a[1]
    ]
    assert together, f"no two steps ran at once on two workers among {len(spans)} steps"
    workers = {_worker_of(pid) for _, _, pid, _ in spans if Path(f"/proc/{pid}/stat").exists()}
    assert len(workers) != 1, "every step still alive ran on one worker"


def test_platform_data_lives_in_postgresql_and_the_bucket_not_on_local_disk(
    production: Production,
) -> None:
    keys = production.stack.s3().list_objects_v2(  # type: ignore[attr-defined]
        Bucket=production.stack.services.bucket, Prefix="compute-logs/"
    )
    assert keys.get("KeyCount"), "step logs are in the bucket"
    written = [
        path
        for path in production.stack.home.rglob("*")
        if path.is_file() and path.suffix not in (".yaml", ".py")
    ]
    assert written == [], "DAGSTER_HOME holds only configuration"
    with production.warehouse().connect() as connection:
        tables = connection.execute(
            "select count(*) from information_schema.tables where table_schema = 'gold'"
        ).fetchone()
    assert tables
    assert tables[0] >= 4


class Reader(threading.Thread):
    """A BI client: one read-only connection to gold, held open, querying until stopped."""

    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__(daemon=True)
        self.connection = warehouse.connect(read_only=True)
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.totals: set[tuple[object, ...]] = set()
        self.queries = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                # a fresh snapshot each time: a transaction per query
                row = self.connection.execute(
                    "select count(*), sum(order_count) from gold.daily_revenue_by_nation"
                ).fetchone()
                assert row is not None
                self.totals.add(tuple(row))
                self.queries += 1
            except duckdb.Error as error:
                self.errors.append(f"{type(error).__name__}: {error}")
            time.sleep(0.2)
        self.connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def test_a_new_day_reaches_gold_while_a_bi_client_holds_gold_open(
    production: Production, record_property: Callable[[str, object], None]
) -> None:
    nation = production.customer_nation(1)
    with production.warehouse().connect() as connection:
        before = connection.execute(
            "select count(*), sum(order_count) from gold.daily_revenue_by_nation"
        ).fetchone()
    reader = Reader(production.warehouse())
    reader.start()
    landed = time.time()
    try:
        production.land_day("1998-08-10", 900_001, customer=1, price="100.00")
        done = day_in_gold(production, "1998-08-10", landed, why="gold for the new day")
        record_property("production_new_day_seconds", round(done - landed, 1))
    finally:
        reader.stop()
    assert production.gold_day("1998-08-10") == [(nation, 1, Decimal("95.0000"))]
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in production.runs_since(landed))
    assert reader.errors == []
    assert reader.queries > 0
    # the reader saw gold before the day, and after it: never a table half built
    assert before is not None
    assert reader.totals <= {tuple(before), (before[0] + 1, before[1] + 1)}


def _worker_of(pid: int) -> int:
    """The Celery worker (main process) whose pool child is `pid`."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_a_worker_killed_in_the_middle_of_a_step_leaves_correct_gold_without_a_human(
    production: Production, record_property: Callable[[str, object], None]
) -> None:
    nation = production.customer_nation(2)
    landed = time.time()
    production.land_day("1998-08-11", 900_002, customer=2, price="200.00")

    def silver_step_started() -> dg.EventLogEntry | None:
        for run in production.runs_since(landed):
            for entry in production.instance().all_logs(
                run.run_id, of_type=dg.DagsterEventType.STEP_START
            ):
                if entry.step_key and "silver" in entry.step_key and entry.dagster_event:
                    return entry
        return None

    started = until(silver_step_started, timeout=600, every=0.5, why="a silver step to start")
    assert started.dagster_event is not None
    assert started.dagster_event.pid is not None
    child = started.dagster_event.pid
    worker = _worker_of(child)
    killed = time.time()
    for pid in (worker, child):
        os.kill(pid, signal.SIGKILL)

    why = "gold for the day after the worker was killed"
    done = day_in_gold(production, "1998-08-11", killed, why=why, timeout=900)
    record_property("production_recovery_seconds", round(done - killed, 1))
    assert production.gold_day("1998-08-11") == [(nation, 1, Decimal("190.0000"))]
    runs = production.runs_since(landed)
    assert any(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
