"""Tripwires for `data_platform/compat.py`: one test per private name the platform uses.

Each fails, naming the use, when an upgrade of dagster, dagster-dbt or dagster-deltalake moves or
changes what the platform relies on; the module's docstring says why each use is needed.
"""

import dataclasses
import enum
import importlib
import importlib.metadata
import inspect
import sys
import threading
import typing
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.events import EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.execution.context.metadata_logging import (
    AssetMetadataHandle,
    OutputMetadataAccumulator,
)
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster_dbt import DbtCliResource
from dagster_deltalake_polars.deltalake_polars_type_handler import DeltaLakePolarsTypeHandler
from packaging.version import Version

from data_platform import compat as internals

DBT_PROJECT = Path(__file__).parents[1] / "dbt_project"

# --- 1, 2, 5: private names imported from private modules -------------------------------------

# (use, module, name, what it must still be)
IMPORTS: list[tuple[str, str, str, Callable[[Any], bool]]] = [
    (
        "alerts: FreshnessState.FAIL/PASS",
        "dagster._core.definitions.freshness",
        "FreshnessState",
        lambda c: issubclass(c, enum.Enum) and {"FAIL", "PASS"} <= set(c.__members__),
    ),
    (
        "alerts: InstigatorType.SENSOR",
        "dagster._core.scheduler.instigation",
        "InstigatorType",
        lambda c: issubclass(c, enum.Enum) and "SENSOR" in c.__members__,
    ),
    (
        "alerts: TickStatus.FAILURE",
        "dagster._core.scheduler.instigation",
        "TickStatus",
        lambda c: issubclass(c, enum.Enum) and "FAILURE" in c.__members__,
    ),
    (
        "alerts and event log: AssetCheckExecutionRecordStatus.FAILED/PLANNED",
        "dagster._core.storage.asset_check_execution_record",
        "AssetCheckExecutionRecordStatus",
        # the event log writes PLANNED's value into the executions table
        lambda c: issubclass(c, enum.Enum) and c.FAILED and c.PLANNED.value == "PLANNED",
    ),
    (
        "lake IO manager: DbTypeHandler.handle_output/load_input",
        "dagster._core.storage.db_io_manager",
        "DbTypeHandler",
        lambda c: (
            list(inspect.signature(c.handle_output).parameters)
            == ["self", "context", "table_slice", "obj", "connection"]
            and list(inspect.signature(c.load_input).parameters)
            == ["self", "context", "table_slice", "connection"]
        ),
    ),
    (
        "lake IO manager: TableSlice(partition_dimensions, columns)",
        "dagster._core.storage.db_io_manager",
        "TableSlice",
        lambda c: {"partition_dimensions", "columns"} <= set(c._fields),
    ),
    (
        "lake IO manager: TablePartitionDimension(partition_expr, partitions)",
        "dagster._core.storage.db_io_manager",
        "TablePartitionDimension",
        lambda c: {"partition_expr", "partitions"} <= set(c._fields),
    ),
    (
        "lake IO manager: TableConnection(table_uri, storage_options)",
        "dagster_deltalake.io_manager",
        "TableConnection",
        lambda c: {"table_uri", "storage_options"} <= {f.name for f in dataclasses.fields(c)},
    ),
    (
        "event log: SqliteEventLogStorage",
        "dagster._core.storage.event_log.sqlite.sqlite_event_log",
        "SqliteEventLogStorage",
        lambda c: issubclass(c, SqlEventLogStorage),
    ),
    (
        "event log: AssetCheckEvaluationPlanned(asset_key, check_name, partitions_subset)",
        "dagster._core.definitions.asset_checks.asset_check_evaluation",
        "AssetCheckEvaluationPlanned",
        lambda c: {"asset_key", "check_name", "partitions_subset"} <= set(typing.get_type_hints(c)),
    ),
    (
        "event log: AssetKeyTable.asset_key",
        "dagster._core.storage.event_log.schema",
        "AssetKeyTable",
        lambda t: "asset_key" in t.c,
    ),
    (
        "event log: AssetCheckExecutionsTable columns of a planned check",
        "dagster._core.storage.event_log.schema",
        "AssetCheckExecutionsTable",
        lambda t: (
            {
                "asset_key",
                "check_name",
                "partition",
                "run_id",
                "execution_status",
                "evaluation_event",
                "evaluation_event_timestamp",
                "evaluation_event_storage_id",
            }
            <= set(t.c.keys())
        ),
    ),
    (
        "event log: ConfigurableClassData",
        "dagster._serdes",
        "ConfigurableClassData",
        lambda c: {"module_name", "class_name", "config_yaml"} <= set(c._fields),
    ),
    (
        "event log: ASSET_EVENTS",
        "dagster._core.events",
        "ASSET_EVENTS",
        lambda s: dg.DagsterEventType.ASSET_MATERIALIZATION in s,
    ),
    (
        "event log: ASSET_CHECK_EVENTS",
        "dagster._core.events",
        "ASSET_CHECK_EVENTS",
        lambda s: dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED in s,
    ),
    (
        "event log: BATCH_WRITABLE_EVENTS",
        "dagster._core.events",
        "BATCH_WRITABLE_EVENTS",
        lambda s: dg.DagsterEventType.ASSET_MATERIALIZATION in s,
    ),
    (
        "metadata in bulk: AssetMetadataHandle(asset_key, partition_key)",
        "dagster._core.execution.context.metadata_logging",
        "AssetMetadataHandle",
        lambda c: bool(c(asset_key=dg.AssetKey("a"), partition_key="p")),
    ),
    (
        "metadata in bulk: OutputMetadataAccumulator(per_output_metadata=...)",
        "dagster._core.execution.context.metadata_logging",
        "OutputMetadataAccumulator",
        lambda c: c(per_output_metadata={}).per_output_metadata == {},
    ),
]


@pytest.mark.parametrize(
    ("module", "name", "expected"), [i[1:] for i in IMPORTS], ids=[i[0] for i in IMPORTS]
)
def test_private_name_is_where_the_platform_imports_it(
    module: str, name: str, expected: Callable[[Any], bool]
) -> None:
    found = getattr(importlib.import_module(module), name, None)
    assert found is not None, f"{module}.{name} has moved: update data_platform/compat.py"
    assert expected(found), f"{module}.{name} has changed: review data_platform/compat.py"
    if hasattr(internals, name):
        assert getattr(internals, name) is found


def test_alerts_run_status_filter_is_public_now() -> None:
    """Alerts use `dagster.RunStatusChangeRecordsFilter`, once imported from a private module."""
    from dagster._core.event_api import RunStatusChangeRecordsFilter

    assert dg.RunStatusChangeRecordsFilter is RunStatusChangeRecordsFilter


def test_lake_io_manager_handler_is_declared_with_the_private_types() -> None:
    for method in (DeltaLakePolarsTypeHandler.handle_output, DeltaLakePolarsTypeHandler.load_input):
        hints = typing.get_type_hints(method)
        assert hints["table_slice"] is internals.TableSlice, method
        assert hints["connection"] is internals.TableConnection, method


# --- 3: partition metadata in bulk -----------------------------------------------------------

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def counted(context: dg.AssetExecutionContext) -> dg.MaterializeResult:  # type: ignore[type-arg]
    step = context.op_execution_context._step_execution_context
    assert isinstance(step._metadata_accumulator, OutputMetadataAccumulator)
    context.add_asset_metadata(
        {"before": 1}, asset_key=context.asset_key, partition_key="2024-01-02"
    )
    internals.add_partition_metadata_in_bulk(
        context,
        context.asset_key,
        {day: {"rows": dg.MetadataValue.int(i)} for i, day in enumerate(context.partition_keys)},
    )
    context.add_asset_metadata(
        {"after": 2}, asset_key=context.asset_key, partition_key="2024-01-03"
    )
    return dg.MaterializeResult()


def test_metadata_in_bulk_lands_on_each_partitions_materialization() -> None:
    """Behavioural tripwire of `_step_execution_context._metadata_accumulator`: the bulk helper's
    metadata reaches each partition's materialization, merged with add_asset_metadata's."""
    result = dg.materialize(
        [counted],
        tags={
            "dagster/asset_partition_range_start": "2024-01-01",
            "dagster/asset_partition_range_end": "2024-01-04",
        },
    )
    assert result.success
    by_day = {
        m.partition: {k: v.value for k, v in m.metadata.items()}
        for m in result.asset_materializations_for_node("counted")
    }
    assert by_day == {
        "2024-01-01": {"rows": 0},
        "2024-01-02": {"before": 1, "rows": 1},
        "2024-01-03": {"rows": 2, "after": 2},
        "2024-01-04": {"rows": 3},
    }


def test_metadata_accumulator_is_an_attribute_of_the_step_context() -> None:
    from dagster._core.execution.context.system import StepExecutionContext

    assert "self._metadata_accumulator" in inspect.getsource(StepExecutionContext.__init__)
    assert AssetMetadataHandle(
        asset_key=dg.AssetKey("a"), partition_key="p"
    ) == AssetMetadataHandle(asset_key=dg.AssetKey("a"), partition_key="p")


# --- 4: dbt without start-up costs --------------------------------------------------------------

DBT_MEMBERS = [
    ("_cli_version", cached_property, ["self"]),
    ("_initialize_dbt_core_adapter", None, ["self", "args"]),
]


@pytest.mark.parametrize(
    ("name", "kind", "parameters"),
    DBT_MEMBERS,
    ids=[f"dbt: DbtCliResource.{m[0]}" for m in DBT_MEMBERS],
)
def test_dbt_member_overridden_is_still_dagster_dbts(
    name: str, kind: type | None, parameters: list[str]
) -> None:
    stock = vars(DbtCliResource).get(name)
    assert stock is not None, f"DbtCliResource.{name} is gone: its override in compat is dead"
    if kind is not None:
        assert isinstance(stock, kind)
        stock = stock.func
    assert list(inspect.signature(stock).parameters) == parameters
    # cli() still calls it before every command: otherwise the override no longer saves anything
    assert f"self.{name}" in inspect.getsource(DbtCliResource.cli)
    assert name in vars(internals.DbtCliWithoutStartupCosts)


def test_dbt_version_is_known_without_a_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    """`DBT_PYTHON_VERSION` (dagster-dbt's own record of dbt-core) is dbt-core's version, and the
    override answers without running `dbt --version`."""
    import dagster_dbt.core.resource

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("dbt --version was run")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", refuse)
    resource = internals.DbtCliWithoutStartupCosts(
        project_dir=str(DBT_PROJECT), dbt_executable=str(Path(sys.executable).parent / "dbt")
    )
    assert resource._cli_version == Version(importlib.metadata.version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None


# --- 5: the local profile's event storage ---------------------------------------------------------

# every member of SqliteEventLogStorage that PooledSqliteEventLogStorage overrides or calls, with
# the parameter names it relies on
EVENT_LOG_MEMBERS = [
    ("__init__", ["self", "base_dir", "inst_data"]),
    ("_connect", ["self", "shard"]),
    ("_initdb", ["self", "engine", "for_index_shard"]),
    ("_store_asset_event_tags", ["self", "conn", "events", "event_ids"]),
    ("_has_asset_key_index_cols_on_connection", ["self", "conn"]),
    ("_get_asset_entry_values", ["self", "event", "event_id", "has_asset_key_index_cols"]),
    ("_store_asset_event", ["self", "conn", "event", "event_id"]),
    ("_store_asset_check_evaluation_planned", ["self", "event", "event_id"]),
    ("_event_insert_timestamp", ["self", "event"]),
    ("conn_string_for_shard", ["self", "shard_name"]),
    ("run_connection", ["self", "run_id"]),
    ("index_connection", ["self"]),
    ("index_transaction", ["self"]),
    ("prepare_insert_event", ["self", "event"]),
    ("store_asset_check_event", ["self", "event", "event_id"]),
    ("store_event", ["self", "event"]),
    ("store_event_batch", ["self", "events"]),
    ("dispose", ["self"]),
    ("config_type", []),
    ("from_config_value", ["inst_data", "config_value"]),
]


@pytest.mark.parametrize(
    ("name", "parameters"),
    EVENT_LOG_MEMBERS,
    ids=[f"event log: SqliteEventLogStorage.{m[0]}" for m in EVENT_LOG_MEMBERS],
)
def test_event_log_member_used_is_still_there(name: str, parameters: list[str]) -> None:
    member = getattr(SqliteEventLogStorage, name, None)
    assert member is not None, (
        f"SqliteEventLogStorage.{name} is gone: review PooledSqliteEventLogStorage"
    )
    assert list(inspect.signature(member).parameters) == parameters


# the stock code the pooled storage replaces or mirrors: the names each refers to. A change means
# the stock storage does something more (or else) than the pooled one does in its place.
STOCK_CODE = {
    "store_event": {
        "ASSET_CHECK_EVENTS",
        "ASSET_EVENTS",
        "DagsterInvariantViolationError",
        "EVENT_TYPE_TO_PIPELINE_RUN_STATUS",
        "EventLogEntry",
        "_store_asset_event",
        "_store_asset_event_tags",
        "check",
        "dagster_event_type",
        "db_result",
        "execute",
        "index_connection",
        "index_transaction",
        "inserted_primary_key",
        "inst_param",
        "is_dagster_event",
        "prepare_insert_event",
        "run_connection",
        "run_id",
        "store_asset_check_event",
    },
    "_store_asset_event": {
        "AssetKeyTable",
        "IntegrityError",
        "_get_asset_entry_values",
        "_has_asset_key_index_cols_on_connection",
        "asset_key",
        "c",
        "dagster_event",
        "db_exc",
        "execute",
        "insert",
        "to_string",
        "update",
        "values",
        "where",
    },
    "_store_asset_check_evaluation_planned": {
        "AssetCheckExecutionsTable",
        "cast",
        "check",
        "dagster_event",
        "event_specific_data",
        "execute",
        "get_partition_keys",
        "index_connection",
        "insert",
        "not_none",
        "partitions_subset",
        "values",
    },
    "_connect": {
        "NullPool",
        "SQLITE_BUSY_TIMEOUT_SECONDS",
        "_db_lock",
        "_initdb",
        "_initialized_dbs",
        "add",
        "begin",
        "check",
        "conn_string_for_shard",
        "connect",
        "create_engine",
        "dispose",
        "str_param",
    },
}


@pytest.mark.parametrize(
    "name", list(STOCK_CODE), ids=[f"event log: stock {n} unchanged" for n in STOCK_CODE]
)
def test_stock_event_log_code_replaced_is_unchanged(name: str) -> None:
    code = inspect.unwrap(getattr(SqliteEventLogStorage, name)).__code__
    assert set(code.co_names) == STOCK_CODE[name], (
        f"SqliteEventLogStorage.{name} changed: review PooledSqliteEventLogStorage's version"
    )


def test_event_log_batchable_events_are_asset_or_check_events() -> None:
    """The batch path writes asset and check events to the index; a batchable run-status event
    (which the stock storage also mirrors to the index) would be lost there."""
    from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, BATCH_WRITABLE_EVENTS

    assert BATCH_WRITABLE_EVENTS <= ASSET_EVENTS | ASSET_CHECK_EVENTS
    assert not BATCH_WRITABLE_EVENTS & set(EVENT_TYPE_TO_PIPELINE_RUN_STATUS)


def test_event_log_instance_attributes_used_are_still_set(tmp_path: Path) -> None:
    storage = SqliteEventLogStorage(str(tmp_path))
    try:
        assert isinstance(storage._initialized_dbs, set)
        assert isinstance(storage._db_lock, type(threading.Lock()))
        # the pooled storage's own members do not shadow any of the stock storage's
        for own in ("_engine", "_engines", "_engines_lock", "_store_asset_entries"):
            assert not hasattr(storage, own), own
    finally:
        storage.dispose()


# 7. What the tests record as Dagster's daemon would: each record is read back through the public
# APIs the alert sources and automation conditions read it with.


def test_recorded_sensor_tick_is_read_back_as_the_daemons() -> None:
    with dg.instance_for_test() as instance:
        internals.record_sensor_tick(instance, "location", "a_sensor", "Error: down")
        internals.record_sensor_tick(instance, "location", "a_sensor", None)
        [state] = instance.all_instigator_state(instigator_type=internals.InstigatorType.SENSOR)
        assert state.instigator_name == "a_sensor"
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id)
        statuses = [tick.status for tick in ticks]
        assert statuses == [internals.TickStatus.SKIPPED, internals.TickStatus.FAILURE]
        assert ticks[1].error is not None
        assert ticks[1].error.message == "Error: down"


def test_recorded_stopped_sensor_is_read_back_stopped_after_it_ran() -> None:
    with dg.instance_for_test() as instance:
        internals.record_sensor_tick(instance, "location", "automation_sensor", None)
        internals.record_sensor_stopped(instance, "location", "automation_sensor", automation=True)
        [state] = instance.all_instigator_state(instigator_type=internals.InstigatorType.SENSOR)
        assert (state.instigator_name, state.status.value) == ("automation_sensor", "STOPPED")
        assert state.instigator_data.sensor_type.value == "AUTOMATION"  # type: ignore[union-attr]


def test_recorded_freshness_change_is_a_freshness_state_change_event() -> None:
    with dg.instance_for_test() as instance:
        key = dg.AssetKey("a")
        fail, passing = internals.FreshnessState.FAIL, internals.FreshnessState.PASS
        internals.record_freshness_change(instance, key, passing, fail, 1_000.0)
        changes = dg.EventRecordsFilter(event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE)
        [record] = instance.event_log_storage.get_event_records(changes)
        event = record.event_log_entry.dagster_event
        assert event is not None
        change = event.asset_freshness_state_change_data
        assert (change.key, change.previous_state, change.new_state) == (key, passing, fail)
        assert change.state_change_timestamp == 1_000.0


def test_recorded_check_targets_the_latest_materialization() -> None:
    @dg.asset(check_specs=[dg.AssetCheckSpec("c", asset="a", blocking=True)])
    def a() -> Iterator[dg.Output[None] | dg.AssetCheckResult]:
        yield dg.Output(None)
        yield dg.AssetCheckResult(passed=True)

    with dg.instance_for_test() as instance:
        dg.materialize([a], instance=instance)
        internals.record_check_of_materialization(instance, a.key, "c", passed=False)
        check = dg.AssetCheckKey(a.key, "c")
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])
        evaluation = latest[check].event
        assert evaluation is not None
        assert evaluation.dagster_event is not None
        data = evaluation.dagster_event.event_specific_data
        materialization = instance.fetch_materializations(a.key, limit=1).records[0]
        assert data.passed is False
        assert data.target_materialization_data.storage_id == materialization.storage_id
