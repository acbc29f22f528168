"""The production profile as deployed, on real services: the instance and gold's catalog on a
PostgreSQL cluster of the module's own (so that it can be restarted), landing zone, lake, gold (a
DuckLake) and compute logs on an S3 server (moto), the code location as a gRPC server, webserver
and daemon as their own processes, steps on two Celery workers through the machine's RabbitMQ
(`deploy/production_stack.py`, what `make run-prod` starts).

The tests build on one another in order: the history lands and the sensors and automation alone
bring gold to the TPC-H oracle; a new day lands while a BI client holds gold open; a Celery worker
is killed in the middle of a silver step, then of a gold build, and each run still ends with
correct gold; PostgreSQL restarts under a day's run and the day still reaches gold. Each new day
asserts that every day landed before it is still in gold. Figures are recorded, not asserted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest

from data_platform.definitions import build_definitions
from data_platform.resources.warehouse import Warehouse
from data_platform.simulate.oracle import expected, mismatches
from deploy.production_stack import ProductionStack, Services, until
from tests.conftest import gold_keys, tbl_line, tbl_order
from tests.platform_server import day_in_gold, materialized_after
from tests.postgres_cluster import PostgresCluster, outage, postgres_cluster

pytestmark = pytest.mark.slow

ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
Oracle = dict[str, tuple[list[str], list[tuple[str, ...]]]]
GoldDay = list[tuple[object, ...]]


class Production:
    """The running stack, seen from outside: its instance, its bucket, its gold."""

    def __init__(self, stack: ProductionStack, cluster: PostgresCluster) -> None:
        self.stack = stack
        self.cluster = cluster
        self.env = stack.env()
        self.started = time.time()
        self._instance: dg.DagsterInstance | None = None
        # each day the tests landed, and its gold
        self.days: dict[str, GoldDay] = {}

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

    def gold_day(self, day: str) -> GoldDay:
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

    def assert_day_in_gold(self, day: str, expected: GoldDay) -> None:
        """`day` is in gold as `expected`, and every day landed before it still is."""
        self.days[day] = expected
        assert {d: self.gold_day(d) for d in self.days} == self.days

    def catalog_locks(self) -> int:
        """Advisory locks held on gold's catalog database (the warehouse's writer lock)."""
        catalog = psycopg2.connect(self.env["PLATFORM_GOLD_CATALOG"])
        with contextlib.closing(catalog), catalog.cursor() as cursor:
            cursor.execute(
                "select count(*) from pg_locks where locktype = 'advisory' and granted and"
                " database = (select oid from pg_database where datname = current_database())"
            )
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def worker_exited(self) -> bool:
        return any(
            process.poll() is not None
            for name, process in self.stack.processes.items()
            if name.startswith("worker-")
        )

    def step_started(self, since: float, step: str) -> dg.EventLogEntry | None:
        """The first step whose key matches the pattern `step` started in a run created after
        `since`."""
        for run in self.runs_since(since):
            for entry in self.instance().all_logs(
                run.run_id, of_type=dg.DagsterEventType.STEP_START
            ):
                if entry.step_key and re.search(step, entry.step_key) and entry.dagster_event:
                    return entry
        return None


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def production(
    tmp_path_factory: pytest.TempPathFactory, cluster: PostgresCluster
) -> Iterator[Production]:
    stack = ProductionStack(
        tmp_path_factory.mktemp("production"),
        name=f"e2e_{uuid.uuid4().hex[:8]}",
        services=Services(postgres=cluster.dsn),
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
                yield Production(stack, cluster)
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
    production.assert_day_in_gold("1998-08-10", [(nation, 1, Decimal("95.0000"))])
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


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (a step's dbt subprocess, for one), nearest first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, below = [], children.get(pid, [])
    while below:
        found += below
        below = [grandchild for child in below for grandchild in children.get(child, [])]
    return found


def _runs_dbt(pid: int) -> bool:
    """Whether a process below `pid` is dbt (a gold step's build)."""
    for descendant in _descendants(pid):
        with contextlib.suppress(OSError):
            if b"dbt" in Path(f"/proc/{descendant}/cmdline").read_bytes():
                return True
    return False


@pytest.mark.parametrize(
    ("layer", "step", "day", "order", "customer", "price", "revenue"),
    [
        pytest.param(
            "silver", "silver", "1998-08-11", 900_002, 2, "200.00", "190.0000", id="silver_step"
        ),
        # a dbt build of gold's marts (not one of their checks' steps), with the warehouse's
        # writer lock held; customer 3 has no orders in TPC-H, so no lifetime value
        pytest.param(
            "gold",
            "^gold_(daily_)?marts$",
            "1998-08-12",
            900_003,
            4,
            "300.00",
            "285.0000",
            id="gold_build",
        ),
    ],
)
def test_a_worker_killed_in_the_middle_of_a_step_leaves_correct_gold_without_a_human(
    production: Production,
    record_property: Callable[[str, object], None],
    layer: str,
    step: str,
    day: str,
    order: int,
    customer: int,
    price: str,
    revenue: str,
) -> None:
    nation = production.customer_nation(customer)
    landed = time.time()
    production.land_day(day, order, customer=customer, price=price)

    started = until(
        lambda: production.step_started(landed, step), 600, 0.5, f"a {layer} step to start"
    )
    assert started.dagster_event is not None
    assert started.dagster_event.pid is not None
    child = started.dagster_event.pid
    worker = _worker_of(child)
    if layer == "gold":
        # killed in the middle of dbt's build, once the step holds the catalog's lock
        until(lambda: _runs_dbt(child), 120, 0.2, "the gold step's dbt build to start")
        assert production.catalog_locks() >= 1
    tree = [worker, child, *_descendants(child)]
    killed = time.time()
    for pid in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    record_property(f"production_{layer}_kill_processes", len(tree))
    # what Kubernetes does for a worker's pod: start the dead worker again
    until(production.worker_exited, 30, 0.2, why="the killed worker's process to end")
    production.stack.supervise()

    why = f"gold for the day after the worker was killed in a {layer} step"
    done = day_in_gold(production, day, killed, why=why, timeout=900)
    record_property(f"production_{layer}_kill_recovery_seconds", round(done - killed, 1))
    production.assert_day_in_gold(day, [(nation, 1, Decimal(revenue))])
    runs = production.runs_since(landed)
    assert any(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    # the killed build's session ended with it: nothing holds the catalog's lock now
    assert production.catalog_locks() == 0


OUTAGE_SECONDS = 15


def test_postgresql_restarted_under_a_run_the_day_still_reaches_gold_without_a_human(
    production: Production, record_property: Callable[[str, object], None]
) -> None:
    """The instance's and gold's PostgreSQL stops while a day's run is in progress (every
    session ended, as a restart or a fail-over ends them) and is back 15 s later: daemon,
    webserver, code server and workers keep running and the day reaches gold."""
    nation = production.customer_nation(5)
    landed = time.time()
    production.land_day("1998-08-13", 900_004, customer=5, price="400.00")
    until(lambda: production.step_started(landed, ""), 600, 0.5, "the day's first step to start")
    stopped = outage(production.cluster, OUTAGE_SECONDS)
    back = time.time()

    done = day_in_gold(production, "1998-08-13", stopped, why="gold after the outage", timeout=900)
    record_property("production_postgres_outage_seconds", round(back - stopped, 1))
    record_property("production_postgres_recovery_seconds", round(done - back, 1))
    runs = production.runs_since(landed)
    record_property("production_postgres_outage_runs", len(runs))
    record_property(
        "production_postgres_outage_failed_runs",
        sum(run.status == dg.DagsterRunStatus.FAILURE for run in runs),
    )
    production.assert_day_in_gold("1998-08-13", [(nation, 1, Decimal("380.0000"))])
    assert any(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    stopped_processes = [n for n, p in production.stack.processes.items() if p.poll() is not None]
    assert stopped_processes == [], "every process of the stack rode the outage out"
    assert production.catalog_locks() == 0
