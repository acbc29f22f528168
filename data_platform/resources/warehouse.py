"""The warehouse gold marts live in, how dbt reaches it, and its one-writer-at-a-time rule.

Two shapes, chosen by the profile (`data_platform/profiles`):

- **A DuckDB file** (local): one process may write it at a time, and a reader's connection holds
  the file too. Every gold build takes an exclusive lock on `<file>.lock` first, and then waits
  until DuckDB itself lets it open the file for writing (a BI client may hold it).
- **A DuckLake** (production): tables in Parquet on object storage, the catalog in PostgreSQL.
  Readers attach the catalog and read a committed snapshot: they never block a writer and never
  see a half-built table. Writers on any machine take a PostgreSQL advisory lock on the catalog
  database, so two gold builds never race on the same tables.

Either way, a build that cannot get the warehouse in time asks Dagster to retry the step later
(`RetryRequested`): another writer makes a run wait, never fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
from pydantic import Field

from data_platform import settings
from data_platform.catalog.partitions import DateWindow
from data_platform.resources.duckdb_extensions import connect as connect_duckdb
from data_platform.resources.duckdb_extensions import extension_directory
from data_platform.resources.object_store import duckdb_s3_secret, is_s3_url

# What the dbt project reads from its environment besides the platform's settings
# (`profiles.yml`, the generated silver sources, `macros/daily_window.sql`): the extension folder,
# and the order-date window [start, end) of a daily build.
EXTENSIONS_VARIABLE = "DUCKDB_EXTENSION_DIRECTORY"
WINDOW_START_VARIABLE = "PLATFORM_WINDOW_START"
WINDOW_END_VARIABLE = "PLATFORM_WINDOW_END"
# where dbt builds and tests the marts before they are published (`assets/gold_publish.py`)
BUILD_SCHEMA_VARIABLE = "PLATFORM_GOLD_BUILD_SCHEMA"
# the schema readers use, and the writer's working copy the marts are built and tested in
PUBLISHED_SCHEMA = "gold"
AUDIT_SCHEMA = "gold_audit"
# the pseudonym salt, under a name dbt keeps out of its logs and allows only in profiles.yml
# (which hands it to data_platform/resources/dbt_privacy.py)
PSEUDONYM_SALT_VARIABLE = "DBT_ENV_SECRET_PSEUDONYM_SALT"
# the dbt profile's targets (`dbt_project/profiles.yml`), one per warehouse shape
DUCKDB_TARGET = "local"
DUCKLAKE_TARGET = "ducklake"
# the catalog name gold's tables are read under in either shape (`warehouse.gold.<mart>`)
CATALOG_ALIAS = "warehouse"

# Gold steps share this pool: where the instance sets a limit for it (config/local/dagster.yaml),
# a second writer queues instead of starting and waiting on the lock.
WAREHOUSE_POOL = "duckdb_warehouse"
LOCK_POLL_SECONDS = 0.5


def _absolute(location: str) -> str:
    """dbt runs in its project folder, so local paths are made absolute; URLs pass through."""
    return location if "://" in location else str(Path(location).resolve())


class WarehouseBusyError(Exception):
    """Another writer held the warehouse for longer than a build waits."""


class Warehouse(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where gold is built (a DuckDB file, or a DuckLake) and where dbt reads silver from."""

    path: str = Field(default="", description="DuckDB warehouse file (the local shape).")
    lake_dir: str = Field(description="Root of the Delta lake dbt reads silver tables from.")
    catalog: str = Field(
        default="",
        description="DuckLake catalog: libpq connection string of its PostgreSQL database. "
        "Set, gold is a DuckLake and `path` is not used.",
    )
    data_path: str = Field(default="", description="Where the DuckLake keeps its data files.")
    first_business_date: str = Field(
        default=settings.TPCH_FIRST_ORDER_DATE,
        description="Where business dates start: the TPC-H reports' dates move with it.",
    )
    pseudonym_salt: str = Field(
        default=settings.LOCAL_DEFAULTS[settings.PSEUDONYM_SALT],
        description="The key of gold's pseudonyms of personal data; empty, building a mart "
        "that carries one fails.",
    )
    lock_timeout_seconds: float = Field(
        default=1800,
        description="How long a build waits for another of the platform's gold builds "
        "before it asks to be retried.",
    )
    reader_timeout_seconds: float = Field(
        default=1800,
        description="How long a build, once it holds the writer lock, or a check reading gold "
        "waits for a process outside the platform (a BI client) to close the DuckDB file "
        "before it asks to be retried.",
    )
    busy_retries: int = Field(
        default=10, description="How many times a build that gave up waiting is run again."
    )
    retry_after_seconds: float = Field(
        default=30, description="How long Dagster waits before it runs such a build again."
    )

    def retry_later(self) -> dg.RetryRequested:
        """What a step raises on `WarehouseBusyError`: a held warehouse is not the step's
        failure, so Dagster runs it again later, `busy_retries` times at most."""
        return dg.RetryRequested(
            max_retries=self.busy_retries, seconds_to_wait=self.retry_after_seconds
        )

    @property
    def is_ducklake(self) -> bool:
        return bool(self.catalog)

    @property
    def dbt_target(self) -> str:
        return DUCKLAKE_TARGET if self.is_ducklake else DUCKDB_TARGET

    def dbt_environment(self, window: DateWindow | None = None) -> dict[str, str]:
        """What every dbt invocation is given (`dbt_project/profiles.yml`, the silver sources and
        the macros read it): the locations (local ones made absolute), where business dates start
        (`macros/tpch_calendar.sql`), the pseudonym salt (`macros/privacy.sql`), and the partition
        window if any."""
        environment = {
            settings.WAREHOUSE_PATH: _absolute(self.path) if self.path else "",
            settings.LAKE_DIR: _absolute(self.lake_dir),
            settings.GOLD_CATALOG: self.catalog,
            settings.GOLD_DATA_PATH: self.data_path,
            settings.PARTITIONS_START: self.first_business_date,
            PSEUDONYM_SALT_VARIABLE: self.pseudonym_salt,
            EXTENSIONS_VARIABLE: extension_directory(),
            WINDOW_START_VARIABLE: window[0].isoformat() if window else "",
            WINDOW_END_VARIABLE: window[1].isoformat() if window else "",
            BUILD_SCHEMA_VARIABLE: AUDIT_SCHEMA,
        }
        if self._reads_s3():
            environment.update(duckdb_s3_secret())
        return environment

    def _reads_s3(self) -> bool:
        return is_s3_url(self.lake_dir) or is_s3_url(self.data_path)

    def dbt_target_dir(self) -> Path:
        """Where dbt keeps its parse and compiled SQL between runs: beside a warehouse file
        (`warehouse.duckdb` → `warehouse.dbt/`); for a DuckLake, in the machine's temporary
        folder, one per catalog. Builds hold the writer lock, so one folder is enough."""
        if self.is_ducklake:
            return (
                Path(tempfile.gettempdir())
                / f"data_platform-dbt-{zlib.crc32(self.catalog.encode())}"
            )
        return Path(_absolute(self.path)).with_suffix(".dbt")

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A connection for readers (checks, tests, BI), with gold under `warehouse.gold`."""
        if not self.is_ducklake:
            if read_only:
                # the platform's own build ends: a reader waits for it as another build would
                self._wait_for_builds(time.monotonic() + self.lock_timeout_seconds)
            # a process outside the platform (a BI client writing the file) has no end: a
            # reader waits for it as patiently as a build does (a writer holds the writer lock)
            return self._open_file(read_only, time.monotonic() + self.reader_timeout_seconds)
        connection = connect_duckdb(":memory:", "ducklake", "postgres", "httpfs")
        if self._reads_s3():
            connection.execute(self._s3_secret_sql())
        mode = ", READ_ONLY" if read_only else ""
        connection.execute(
            f"ATTACH 'ducklake:postgres:{self.catalog}' AS {CATALOG_ALIAS}"
            f" (DATA_PATH '{self.data_path}'{mode})"
        )
        connection.execute(f"USE {CATALOG_ALIAS}")
        return connection

    @staticmethod
    def _s3_secret_sql() -> str:
        s = duckdb_s3_secret()
        return (
            "CREATE OR REPLACE SECRET platform_s3 (TYPE s3, PROVIDER config,"
            f" KEY_ID '{s['PLATFORM_S3_KEY_ID']}', SECRET '{s['PLATFORM_S3_SECRET']}',"
            f" REGION '{s['PLATFORM_S3_REGION']}', ENDPOINT '{s['PLATFORM_S3_ENDPOINT']}',"
            f" URL_STYLE '{s['PLATFORM_S3_URL_STYLE']}', USE_SSL {s['PLATFORM_S3_USE_SSL']})"
        )

    @contextlib.contextmanager
    def writing(self, log: dg.DagsterLogManager | None = None) -> Iterator[None]:
        """Hold the warehouse's single-writer lock for the block.

        Two waits, each with its own patience, and `WarehouseBusyError` when one runs out: for
        another of the platform's builds to release the lock (`lock_timeout_seconds`; it ends
        when that build does), then, for a DuckDB file, for outside readers to close it
        (`reader_timeout_seconds`; nothing the platform controls ends it)."""
        lock = self._advisory_lock if self.is_ducklake else self._file_lock
        with lock(time.monotonic() + self.lock_timeout_seconds, log):
            if not self.is_ducklake:
                self._wait_for_file(time.monotonic() + self.reader_timeout_seconds, log)
            yield

    @contextlib.contextmanager
    def _file_lock(self, deadline: float, log: dg.DagsterLogManager | None) -> Iterator[None]:
        lock_path = self._lock_path()
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as handle:
            _until(
                lambda: _try_flock(handle.fileno()),
                deadline,
                log,
                f"another gold build holds {lock_path}",
            )
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _lock_path(self) -> Path:
        """The DuckDB file's writer lock, beside it (`warehouse.duckdb` → `warehouse.lock`)."""
        return Path(_absolute(self.path)).with_suffix(".lock")

    def _wait_for_builds(self, deadline: float) -> None:
        """Until none of the platform's gold builds holds the writer lock (a reader takes it
        shared for a moment; it does not hold it while it reads)."""
        lock_path = self._lock_path()
        if not lock_path.exists():
            return
        with lock_path.open("a") as handle:
            _until(
                lambda: _try_flock(handle.fileno(), fcntl.LOCK_SH),
                deadline,
                None,
                f"a gold build holds {lock_path}",
            )
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _open_file(
        self, read_only: bool, deadline: float, log: dg.DagsterLogManager | None = None
    ) -> duckdb.DuckDBPyConnection:
        """The DuckDB file, once no other process holds it against this mode (a writer holds
        it against readers for the length of a build)."""
        opened: list[duckdb.DuckDBPyConnection] = []

        def available() -> bool:
            try:
                opened.append(duckdb.connect(_absolute(self.path), read_only=read_only))
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise
                return False
            return True

        _until(available, deadline, log, f"another process has {self.path} open")
        return opened[0]

    def _wait_for_file(self, deadline: float, log: dg.DagsterLogManager | None) -> None:
        """A reader outside the platform (a BI client) may hold the file: wait until DuckDB
        lets this process write it (dbt opens it itself once this one is closed)."""
        self._open_file(read_only=False, deadline=deadline, log=log).close()

    @contextlib.contextmanager
    def _advisory_lock(self, deadline: float, log: dg.DagsterLogManager | None) -> Iterator[None]:
        key = zlib.crc32(f"data_platform:{WAREHOUSE_POOL}".encode())
        connection = psycopg2.connect(self.catalog)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:

                def locked() -> bool:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", (key,))
                    row = cursor.fetchone()
                    return bool(row and row[0])

                _until(locked, deadline, log, "another gold build holds the catalog's lock")
                try:
                    yield
                finally:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            connection.close()


def _try_flock(descriptor: int, mode: int = fcntl.LOCK_EX) -> bool:
    try:
        fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _until(
    ready: Callable[[], bool], deadline: float, log: dg.DagsterLogManager | None, why: str
) -> None:
    waited = False
    while not ready():
        if time.monotonic() > deadline:
            raise WarehouseBusyError(f"gave up waiting: {why}")
        if log and not waited:
            log.info(f"waiting for the warehouse: {why}")
        waited = True
        time.sleep(LOCK_POLL_SECONDS)
