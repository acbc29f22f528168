"""Where alerts come from: the instance's own records, read from a mark onwards.

Each source reads only what is new since its mark and returns the advanced mark, so an event is
found once. Marks start at the present when alerting is first switched on: history is not paged.

- Run failures: the run-status-change index (`fetch_run_status_changes`), by storage id.
- Check failures: the asset-check executions table. Its ids are global, unlike the per-run event
  shards of the SQLite event log that a plain event cursor cannot cross; one summary query per tick
  finds the checks with a newer execution, and only those are read.
- Freshness: every freshness state change event of an asset with a policy, by storage id; an
  alert on entering FAIL, another on leaving it for PASS.
- Sensors: the latest tick of each sensor; one alert when a sensor starts failing, not one per tick.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from data_platform.alerts.alert import Alert, first_line
from data_platform.catalog.partitions import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG
from data_platform.compat import (
    AssetCheckExecutionRecordStatus,
    FreshnessState,
    InstigatorType,
    TickStatus,
)

PAGE = 100


@dataclasses.dataclass
class Marks:
    """How far each source has been read (persisted with the outbox)."""

    runs: int = 0
    checks: int = 0
    freshness_changes: int = 0
    failing_sensors: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Marks":
        known = {field.name for field in dataclasses.fields(cls)}
        # an outbox written by an earlier version may carry marks this one no longer keeps
        return cls(**{name: value for name, value in data.items() if name in known})

    @classmethod
    def present(cls, instance: dg.DagsterInstance, repository: dg.RepositoryDefinition) -> "Marks":
        """Marks at the present moment: nothing that already happened is alerted."""
        storage = instance.event_log_storage
        summaries = storage.get_asset_check_summary_records(
            list(repository.asset_graph.asset_check_keys)
        )
        check_ids = [
            s.last_check_execution_record.id
            for s in summaries.values()
            if s.last_check_execution_record
        ]
        latest = storage.get_maximum_record_id() or 0
        marks = cls(runs=latest, checks=max(check_ids, default=0), freshness_changes=latest)
        sensor_failures(instance, marks)
        return marks


def run_failures(instance: dg.DagsterInstance, marks: Marks) -> list[Alert]:
    alerts = []
    while True:
        page = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(
                event_type=dg.DagsterEventType.RUN_FAILURE, after_storage_id=marks.runs
            ),
            limit=PAGE,
            ascending=True,
        )
        for record in page.records:
            marks.runs = max(marks.runs, record.storage_id)
            alerts.append(_run_alert(instance, record.event_log_entry))
        if not page.has_more:
            return alerts


def _run_alert(instance: dg.DagsterInstance, entry: dg.EventLogEntry) -> Alert:
    run = instance.get_run_by_id(entry.run_id)
    steps = instance.all_logs(entry.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    errors = [
        f"{step.step_key}: {_root_cause(step.dagster_event.step_failure_data.error)}"
        for step in steps
        if step.dagster_event and step.dagster_event.step_failure_data.error
    ]
    reason = errors[0] if errors else first_line(entry.message) or "the run failed"
    subject = run.job_name if run else entry.run_id
    if run and run.asset_selection:
        names = sorted(key.to_user_string() for key in run.asset_selection)
        subject = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
    if run and (start := run.tags.get(RANGE_START_TAG)):
        end = run.tags.get(RANGE_END_TAG)
        subject += f" [{start}]" if end == start else f" [{start}…{end}]"
    elif run and (partition := run.tags.get(PARTITION_TAG)):
        subject += f" [{partition}]"
    return Alert(
        id=f"run:{entry.run_id}",
        kind="run_failed",
        subject=subject,
        reason=reason,
        path=f"/runs/{entry.run_id}",
    )


def _root_cause(error: SerializableErrorInfo) -> str:
    """The innermost error's first line: the user's exception, not Dagster's wrapper."""
    while error.cause is not None:
        error = error.cause
    return first_line(error.message)


def check_failures(
    instance: dg.DagsterInstance,
    repository: dg.RepositoryDefinition,
    marks: Marks,
    severities: Iterable[dg.AssetCheckSeverity] = (dg.AssetCheckSeverity.ERROR,),
) -> list[Alert]:
    """The failed executions recorded after the mark.

    A run records a check's execution as planned when its step starts, and its outcome later in
    the same record (same id) when the planned partition is the evaluated one. The mark
    therefore stops below the oldest execution still planned in a run under way: the next tick
    reads it again, and an outcome written into it is not passed over. What is read again and
    was alerted already is known to the outbox by its id. A planned execution whose run has
    ended without an outcome (Dagster plans an unpartitioned check once per partition of a range
    run, and records its outcome once) is left behind."""
    storage = instance.event_log_storage
    wanted = set(severities)
    summaries = storage.get_asset_check_summary_records(
        list(repository.asset_graph.asset_check_keys)
    )
    newer = [
        key
        for key, summary in summaries.items()
        if summary.last_check_execution_record
        and summary.last_check_execution_record.id > marks.checks
    ]
    alerts, highest = [], marks.checks
    floor: int | None = None
    finished: dict[str, bool] = {}
    for key in newer:
        for record in _executions_after(instance, key, marks.checks):
            if record.status == AssetCheckExecutionRecordStatus.PLANNED:
                if record.run_id not in finished:
                    finished[record.run_id] = _run_ended(instance, record.run_id)
                if not finished[record.run_id]:
                    floor = record.id - 1 if floor is None else min(floor, record.id - 1)
                    continue
            highest = max(highest, record.id)
            evaluation = record.evaluation
            if (
                record.status == AssetCheckExecutionRecordStatus.FAILED
                and isinstance(evaluation, dg.AssetCheckEvaluation)
                and evaluation.severity in wanted
            ):
                alerts.append(_check_alert(key, record.id, record.run_id, evaluation))
    marks.checks = highest if floor is None else min(highest, floor)
    return sorted(alerts, key=lambda a: a.id)


def _executions_after(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey, mark: int
) -> Iterator[Any]:
    """A check's execution records with an id above `mark`, newest first, page by page."""
    cursor = None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(
            key, limit=PAGE, cursor=cursor
        )
        for record in page:
            if record.id <= mark:
                return
            yield record
        if len(page) < PAGE:
            return
        cursor = page[-1].id


def _run_ended(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is None or run.is_finished


def _check_alert(
    key: dg.AssetCheckKey, record_id: int, run_id: str, evaluation: dg.AssetCheckEvaluation
) -> Alert:
    figures = [
        f"{name} {value.value:g}" if isinstance(value.value, float) else f"{name} {value.value}"
        for name, value in evaluation.metadata.items()
        if isinstance(value.value, int | float) and not isinstance(value.value, bool)
    ]
    reason = evaluation.description or f"{key.name} did not hold"
    if figures:
        reason += ": " + ", ".join(figures[:5])
    severity = evaluation.severity.value
    return Alert(
        id=f"check:{record_id}",
        kind="check_failed",
        subject=f"{key.asset_key.to_user_string()} · {key.name} ({severity})",
        reason=reason + (f" (run {run_id[:8]})" if run_id else ""),
        path=f"{_asset_path(key.asset_key)}?view=checks",
    )


def _asset_path(key: dg.AssetKey) -> str:
    return "/assets/" + "/".join(quote(part) for part in key.path)


def freshness_changes(
    instance: dg.DagsterInstance, repository: dg.RepositoryDefinition, marks: Marks
) -> list[Alert]:
    """An alert for each freshness state change into FAIL, and one for each change out of it
    into PASS, read from the event log after the mark: every change is its own event, so two
    within the same second, or a fail and a recovery between two ticks, are each alerted."""
    graph = repository.asset_graph
    policies = {
        node.key: node.freshness_policy for node in graph.asset_nodes if node.freshness_policy
    }
    alerts = []
    while True:
        records = instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(
                event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE,
                after_cursor=marks.freshness_changes,
            ),
            limit=PAGE,
            ascending=True,
        )
        for record in records:
            marks.freshness_changes = max(marks.freshness_changes, record.storage_id)
            event = record.event_log_entry.dagster_event
            if event is None or event.asset_key not in policies:
                continue
            if alert := _freshness_alert(instance, record.storage_id, event, policies):
                alerts.append(alert)
        if len(records) < PAGE:
            return alerts


def _freshness_alert(
    instance: dg.DagsterInstance,
    storage_id: int,
    event: dg.DagsterEvent,
    policies: Mapping[dg.AssetKey, object],
) -> Alert | None:
    change = event.asset_freshness_state_change_data
    key, before, after = change.key, change.previous_state, change.new_state
    # the event's own storage id: no other event, of any kind or asset, shares it
    identity = f"freshness:{storage_id}"
    if after == FreshnessState.FAIL and before != FreshnessState.FAIL:
        return Alert(
            id=identity,
            kind="freshness_failed",
            subject=key.to_user_string(),
            reason=_staleness(instance, key, policies[key]),
            path=_asset_path(key),
        )
    if before == FreshnessState.FAIL and after == FreshnessState.PASS:
        return Alert(
            id=identity,
            kind="freshness_recovered",
            subject=key.to_user_string(),
            reason="materialized again within its freshness window",
            path=_asset_path(key),
        )
    return None


def _staleness(instance: dg.DagsterInstance, key: dg.AssetKey, policy: object) -> str:
    window = getattr(policy, "fail_window", None)
    expected = f"expected within {window.to_timedelta()}" if window else "missed its deadline"
    latest = instance.get_latest_materialization_event(key)
    if latest is None:
        return f"never materialized ({expected})"
    at = dt.datetime.fromtimestamp(latest.timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"last materialized {at}, {expected}"


def sensor_failures(instance: dg.DagsterInstance, marks: Marks) -> list[Alert]:
    failing, alerts = set(marks.failing_sensors), []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        if not ticks:
            continue
        tick, sensor = ticks[0], state.instigator_name
        if tick.status != TickStatus.FAILURE:
            failing.discard(state.selector_id)
            continue
        if state.selector_id in failing:
            continue
        failing.add(state.selector_id)
        location = state.origin.repository_origin.code_location_origin.location_name
        alerts.append(
            Alert(
                id=f"sensor:{tick.tick_id}",
                kind="sensor_failed",
                subject=sensor,
                reason=first_line(tick.error.message if tick.error else None) or "tick failed",
                path=f"/locations/{quote(location)}/sensors/{quote(sensor)}",
            )
        )
    marks.failing_sensors = sorted(failing)
    return alerts
