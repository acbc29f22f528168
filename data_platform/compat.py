"""Every private name of dagster, dagster-dbt and dagster-deltalake the platform uses, in one place.

No other module of the platform imports a private name (`dagster._...`) or overrides a private
member; an upgrade that moves or changes one of these fails a tripwire test in
`tests/test_compat.py`, which names the use. Each use, and why there is no public way:

1. Alert sources' enums (`data_platform/alerts/sources.py`): `FreshnessState`, `InstigatorType`,
   `TickStatus` and `AssetCheckExecutionRecordStatus` are the types of what the instance's own
   records hold (freshness state changes, sensor ticks, asset-check executions); Dagster does not
   export them.
2. Lake IO manager's handler types (`data_platform/resources/lake_io_manager.py`): `DbTypeHandler`
   is the interface an IO manager's `type_handlers()` returns, `TableSlice` the type it is
   declared with, and `TableConnection` what dagster-deltalake passes a handler; none has a public
   alias (`dagster_deltalake` imports `DbTypeHandler` for its own use, not as an export).
3. Partition metadata in bulk (`add_partition_metadata_in_bulk`, used by
   `data_platform/catalog/metadata.py`): `add_asset_metadata` rebuilds an immutable record of all
   the metadata added so far on each call, so calling it per partition is quadratic in the range
   (each accelerator's figures: docs/measurements.md#what-the-accelerators-save). There is no
   public bulk variant; this adds all of them to the step's private metadata accumulator at once.
4. dbt without start-up costs (`DbtCliWithoutStartupCosts`, the base of
   `data_platform/resources/dbt.py`'s `GoldDbt`): two private members of dagster-dbt's
   `DbtCliResource` are overridden. `_cli_version` runs `dbt --version` in a subprocess
   before every command; `_initialize_dbt_core_adapter` builds a dbt adapter in the run process,
   parsing every macro, that gold never uses.
5. The local profile's event storage (`PooledSqliteEventLogStorage`, named by
   `config/local/dagster.yaml` and by no other profile): a subclass of the private
   `SqliteEventLogStorage`, overriding how connections are made and how batches are written (see
   the class). Dagster has no public extension point for this; SqliteEventLogStorage is the only
   SQLite event log it ships.
6. Event batching (`declare_event_batching`): Dagster writes a run's batch of events (a range
   run's per-partition materializations of an asset, the events planned when a run is created)
   together only when the undocumented `DAGSTER_EVENT_BATCH_SIZE` is set in the environment of
   the process writing them. The platform sets it in every process that loads its definitions
   (run and step workers) and that builds the local profile's instance (the daemon), unless the
   deployment set it.
7. What the tests record as Dagster's daemon would (`record_sensor_tick`,
   `record_freshness_change`, `record_check_of_materialization`): the alert and automation tests
   need a sensor's failed tick, a freshness state change and a check evaluation tied to a
   materialization, which only the daemon or a run writes; Dagster has no public constructor for
   the first two, nor for a check's target materialization. The platform's own code never calls
   these.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import sqlalchemy
from dagster import Field, StringSource, serialize_value
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange
from dagster._core.definitions.sensor_definition import SensorType
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, BATCH_WRITABLE_EVENTS
from dagster._core.execution.context.metadata_logging import (
    AssetMetadataHandle,
    OutputMetadataAccumulator,
)
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData
from dagster_dbt import DbtCliResource
from dagster_dbt.compat import DBT_PYTHON_VERSION
from dagster_deltalake.io_manager import TableConnection
from dagster_shared.error import SerializableErrorInfo
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from packaging.version import Version

__all__ = [
    "AssetCheckExecutionRecordStatus",
    "DbTypeHandler",
    "DbtCliWithoutStartupCosts",
    "FreshnessState",
    "InstigatorType",
    "PooledSqliteEventLogStorage",
    "TableConnection",
    "TableSlice",
    "TickStatus",
    "add_partition_metadata_in_bulk",
    "record_check_of_materialization",
    "record_freshness_change",
    "record_sensor_stopped",
    "record_sensor_tick",
]


# 3. Partition metadata in bulk


def add_partition_metadata_in_bulk(
    context: dg.AssetExecutionContext,
    key: dg.AssetKey,
    per_partition: Mapping[str, Mapping[str, dg.MetadataValue]],
) -> None:
    """Every partition's metadata in one step, leaving the step's accumulator as the same
    `context.add_asset_metadata(metadata, asset_key=key, partition_key=partition)` calls would."""
    step = context.op_execution_context._step_execution_context
    accumulated = dict(step._metadata_accumulator.per_output_metadata)
    for partition, metadata in per_partition.items():
        handle = AssetMetadataHandle(asset_key=key, partition_key=partition)
        accumulated[handle] = {**accumulated.get(handle, {}), **metadata}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=accumulated)


# 4. dbt without start-up costs


class DbtCliWithoutStartupCosts(DbtCliResource):
    """dagster-dbt's CLI resource without the two start-up costs it pays before every command."""

    @cached_property
    def _cli_version(self) -> Version:
        """The stock member runs `dbt --version` in a subprocess to tell dbt-core from dbt
        Fusion; dbt-core is a pinned dependency here, imported by dagster-dbt, which knows its
        version."""
        if DBT_PYTHON_VERSION is None:
            raise RuntimeError("dbt-core is not installed beside the platform")
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        """No adapter. The stock member builds one in the run process, parsing every macro,
        for `fetch_row_counts()`/`fetch_column_metadata()`; gold reads its metadata from
        the warehouse itself (`data_platform/assets/gold_metadata.py`)."""
        return None


# 5. The local profile's event storage

# As long as the stock storage waits for a locked database.
BUSY_TIMEOUT_SECONDS = 30
# The index shard stays open; run shards come and go, so only the most recent are kept.
OPEN_RUN_SHARDS = 8


EVENT_BATCH_SIZE = ("DAGSTER_EVENT_BATCH_SIZE", "100000")


def declare_event_batching() -> None:
    """Batch a run's events in this process (see use 6), unless the deployment decided."""
    name, default = EVENT_BATCH_SIZE
    os.environ.setdefault(name, default)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with pooled connections: the local profile's event storage.

    A single-run backfill of N daily partitions records N materialization events per asset, each
    written separately. The stock `SqliteEventLogStorage` opens a new engine and connection for
    every statement and fsyncs every commit, so a few years of history take minutes to record
    before any data is touched. Here one engine is kept per database file and commits use
    `synchronous=NORMAL` (safe with SQLite's write-ahead log against process crashes; a power cut
    may lose the last events).

    A range run's events come in batches (`DAGSTER_EVENT_BATCH_SIZE`): the planned events when the
    run is created, the materializations when a step ends. The stock storage writes a batch event
    by event, each in transactions of its own, and serializes a check planned for N partitions N
    times; here a batch is one transaction per database, and a planned check is serialized once.
    What each change saves is measured in `docs/measurements.md#what-the-accelerators-save`.

    It plugs in through `dagster.yaml` (`config/local/dagster.yaml`).
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        declare_event_batching()
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledSqliteEventLogStorage:
        """`base_dir` defaults to where Dagster keeps the event log: $DAGSTER_HOME/history/runs."""
        base_dir = (
            config_value.get("base_dir") or Path(os.environ["DAGSTER_HOME"]) / "history" / "runs"
        )
        return cls(base_dir=str(base_dir), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    pool_size=1,
                    max_overflow=8,
                    connect_args={"timeout": BUSY_TIMEOUT_SECONDS},
                )
                sqlalchemy.event.listen(engine, "connect", _relaxed_sync)
                self._engines[shard] = engine
            self._engines.move_to_end(shard)
            while len(self._engines) > OPEN_RUN_SHARDS + 1:
                _, evicted = self._engines.popitem(last=False)
                evicted.dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        """A run's batch of asset events (a range run's per-partition materializations, or the
        events planned when the run is created) in one transaction per database.

        Dagster batches them, but the stock SQLite storage then writes them one by one, each
        in its own transactions; this also keeps one asset-key row update per asset, not per
        event. Anything else is stored one by one, as the stock storage does.
        """
        run_ids = {event.run_id for event in events}
        if len(run_ids) != 1 or not all(
            event.is_dagster_event and event.dagster_event_type in BATCH_WRITABLE_EVENTS
            for event in events
        ):
            super().store_event_batch(events)
            return
        statements = [self.prepare_insert_event(event) for event in events]
        with self.run_connection(run_ids.pop()) as connection:
            for statement in statements:
                connection.execute(statement)
        assets = [
            (event, statement)
            for event, statement in zip(events, statements, strict=True)
            if event.dagster_event_type in ASSET_EVENTS
        ]
        if assets:
            with self.index_transaction() as connection:
                ids = [_inserted_id(connection, statement) for _, statement in assets]
                self._store_asset_event_tags(connection, [event for event, _ in assets], ids)
                self._store_asset_entries(connection, [event for event, _ in assets], ids)
        # few per run (one per check, whatever the number of partitions): the stock way
        for event, statement in zip(events, statements, strict=True):
            if event.dagster_event_type in ASSET_CHECK_EVENTS:
                with self.index_connection() as connection:
                    event_id = _inserted_id(connection, statement)
                self.store_asset_check_event(event, event_id)

    def _store_asset_entries(
        self, connection: Connection, events: Sequence[dg.EventLogEntry], ids: Sequence[int]
    ) -> None:
        """Each asset's row in the asset index as the batch leaves it.

        The stock storage updates the row once per event (`_store_asset_event`); each kind of event
        sets the same columns every time, so only the last event of each kind decides what the row
        holds.
        """
        last: dict[tuple[str, str], tuple[int, dg.EventLogEntry, int]] = {}
        for position, (event, event_id) in enumerate(zip(events, ids, strict=True)):
            asset_key = event.get_dagster_event().asset_key
            if asset_key is not None:
                kind = event.get_dagster_event().event_type_value
                last[asset_key.to_string(), kind] = (position, event, event_id)
        with_index_columns = self._has_asset_key_index_cols_on_connection(connection)
        rows: dict[str, dict[str, Any]] = {}
        for (key, _), (_, event, event_id) in sorted(last.items(), key=lambda item: item[1][0]):
            values = self._get_asset_entry_values(event, event_id, with_index_columns)
            rows.setdefault(key, {}).update(values)
        for key, values in rows.items():
            if not values:
                continue
            try:
                with connection.begin_nested():
                    connection.execute(AssetKeyTable.insert().values(asset_key=key, **values))
            except IntegrityError:
                connection.execute(
                    AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
                )

    def _store_asset_check_evaluation_planned(
        self, event: dg.EventLogEntry, event_id: int | None
    ) -> None:
        """One row per planned partition, as the stock storage writes them, but the event is
        serialized once, not once per row."""
        planned = event.get_dagster_event().event_specific_data
        assert isinstance(planned, AssetCheckEvaluationPlanned)
        subset = planned.partitions_subset
        partitions: list[str | None] = list(subset.get_partition_keys()) if subset else [None]
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),  # type: ignore[no-untyped-call]
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as connection:
            connection.execute(
                AssetCheckExecutionsTable.insert(),
                [{**shared, "partition": partition} for partition in partitions],
            )

    def dispose(self) -> None:
        with self._engines_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()


def _inserted_id(connection: Connection, statement: Any) -> int:
    key = connection.execute(statement).inserted_primary_key
    if key is None:
        raise RuntimeError("the event index did not return the inserted event's id")
    return int(key[0])


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


# 7. What the tests record as Dagster's daemon would


def _sensor_origin(location: str, repository: str, sensor: str) -> RemoteInstigatorOrigin:
    return RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(RegisteredCodeLocationOrigin(location), repository), sensor
    )


def record_sensor_stopped(
    instance: dg.DagsterInstance,
    location: str,
    sensor: str,
    automation: bool,
    repository: str = "__repository__",
) -> None:
    """A sensor's state recorded as stopped, as the UI's "Stop sensor" records it: the daemon
    reads a sensor's state by location, repository and name, and a stored state overrides the
    sensor's default status (`make bench` quiets the sensors before the daemon starts)."""
    origin = _sensor_origin(location, repository, sensor)
    kind = SensorType.AUTOMATION if automation else SensorType.STANDARD
    state = InstigatorState(
        origin,
        InstigatorType.SENSOR,
        InstigatorStatus.STOPPED,
        SensorInstigatorData(min_interval=30, sensor_type=kind),
    )
    if instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id()):
        instance.update_instigator_state(state)
    else:
        instance.add_instigator_state(state)


def record_sensor_tick(
    instance: dg.DagsterInstance,
    location: str,
    sensor: str,
    error: str | None,
    repository: str = "__repository__",
) -> None:
    """A tick of a running sensor as the daemon records it: failed with `error`, else skipped."""
    origin = _sensor_origin(location, repository, sensor)
    selector = origin.get_selector().get_id()
    if instance.get_instigator_state(origin.get_id(), selector) is None:
        instance.add_instigator_state(
            InstigatorState(
                origin,
                InstigatorType.SENSOR,
                InstigatorStatus.RUNNING,
                SensorInstigatorData(min_interval=30, sensor_type=SensorType.STANDARD),
            )
        )
    instance.create_tick(
        TickData(
            instigator_origin_id=origin.get_id(),
            instigator_name=sensor,
            instigator_type=InstigatorType.SENSOR,
            status=TickStatus.FAILURE if error else TickStatus.SKIPPED,
            timestamp=time.time(),
            selector_id=selector,
            error=SerializableErrorInfo(error, [], "Error") if error else None,
        )
    )


def record_freshness_change(
    instance: dg.DagsterInstance,
    key: dg.AssetKey,
    before: FreshnessState,
    after: FreshnessState,
    at: float,
) -> None:
    """A freshness state change of `key` as the freshness daemon records it."""
    instance.report_runless_asset_event(
        FreshnessStateChange(
            key=key, previous_state=before, new_state=after, state_change_timestamp=at
        )
    )


def record_check_of_materialization(
    instance: dg.DagsterInstance, key: dg.AssetKey, check: str, *, passed: bool
) -> None:
    """A blocking check's result on `key`'s latest materialization, as its run records it."""
    latest = instance.fetch_materializations(key, limit=1).records[0]
    target = AssetCheckEvaluationTargetMaterializationData(
        storage_id=latest.storage_id, run_id=latest.run_id, timestamp=latest.timestamp
    )
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=check,
            passed=passed,
            blocking=True,
            target_materialization_data=target,
        )
    )
