"""Dagster's SQLite event log with pooled connections: the local profile's event storage.

A single-run backfill of N daily partitions records N materialization events per asset, each
written separately. The stock `SqliteEventLogStorage` opens a new engine and connection for every
statement and fsyncs every commit: about 24 ms per partition on the development machine, so
minutes for a few years of history before any data is touched. Keeping one engine per database
file and committing with `synchronous=NORMAL` (safe with SQLite's write-ahead log against process
crashes; a power cut may lose the last events) brings it to about 4.5 ms.

A range run's events come in batches (`DAGSTER_EVENT_BATCH_SIZE`): the planned events when the
run is created, the materializations when a step ends. The stock storage writes a batch event by
event, each in transactions of its own, and serializes a check planned for N partitions N times;
here a batch is one transaction per database, and a planned check is serialized once. Recording
a range of 2,406 days for two assets and two checks went from 32 s to 9 s.

Dagster has no public extension point for this: SqliteEventLogStorage is the only SQLite event
log it ships (a private module), and this subclass plugs in through `dagster.yaml`
(`config/local/dagster.yaml`), overriding how connections are made and how batches are written.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy
from dagster import Field, StringSource
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationPlanned,
)
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, BATCH_WRITABLE_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, AssetKeyTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData, serialize_value
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

# As long as the stock storage waits for a locked database.
BUSY_TIMEOUT_SECONDS = 30
# The index shard stays open; run shards come and go, so only the most recent are kept.
OPEN_RUN_SHARDS = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
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

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
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
        self, connection: Connection, events: Sequence[EventLogEntry], ids: Sequence[int]
    ) -> None:
        """Each asset's row in the asset index as the batch leaves it.

        The stock storage updates the row once per event; each kind of event sets the same columns
        every time, so only the last event of each kind decides what the row holds.
        """
        last: dict[tuple[str, str], tuple[int, EventLogEntry, int]] = {}
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
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """One row per planned partition, as the stock storage writes them, but the event is
        serialized once, not once per row: a check planned for a history's 2,400 days took 1 s."""
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
