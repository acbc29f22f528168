"""A snapshot of the asset graph, so that a change of policy shows in review.

`tests/snapshots/asset_graph.json` holds, for every asset key of the code location: its upstream
keys with their partition mappings, its partitions, its automation condition (by label; each
label's condition tree is listed once under `automation_conditions`), its freshness and backfill
policies, group, kinds, owners, pools and tags, and its asset checks (blocking or not); then the
jobs, the schedules and the sensors with their default status. The definitions are loaded as the
code location loads them, with every `PLATFORM_*` setting unset, so the local defaults apply
(`data_platform/settings.py`): nothing in the file depends on the machine, the day or an edit of
the SQL or Python (no paths, no partition counts, no code versions).

The test fails with a diff of the file against the current graph, naming the assets and fields
that changed. When the change is intended, rewrite the file and commit it with the change:

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_asset_graph_snapshot.py

Nothing is materialized and dbt is not run: the gold assets come from the parsed manifest
(`make dbt-parse` if `dbt_project/target/manifest.json` is missing).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from data_platform import settings
from data_platform.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
UPDATE = "UPDATE_SNAPSHOTS"
KIND_TAG = "dagster/kind/"

Json = dict[str, Any]


@pytest.fixture
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every platform setting unset, so the definitions load with the local defaults."""
    names = set(settings.LOCAL_DEFAULTS) | {n for n in os.environ if n.startswith("PLATFORM_")}
    for name in names:
        monkeypatch.delenv(name, raising=False)


def _readable(value: Any) -> Any:
    """Dagster's serialized form of a value, with `type` for `__class__` and durations as text."""
    if isinstance(value, dict):
        if value.get("__class__") == "SerializableTimeDelta":
            seconds = value["days"] * 86400 + value["seconds"] + value["microseconds"] / 1e6
            return _duration(seconds)
        return {
            ("type" if name == "__class__" else name): _readable(item)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_readable(item) for item in value]
    return value


def _duration(seconds: float) -> str:
    """A duration as the settings write them: `26h`, `8d`, `45m`, `90s`."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _serialized(value: object) -> Any:
    """A Dagster record (a freshness policy, a partition mapping) as plain JSON."""
    if value is None:
        return None
    return _readable(json.loads(dg.serialize_value(value)))  # type: ignore[arg-type]


def _backfill(policy: dg.BackfillPolicy | None) -> Json | None:
    if policy is None:
        return None
    return {
        "type": policy.policy_type.value,
        "max_partitions_per_run": policy.max_partitions_per_run,
    }


def _partitions(partitions: dg.PartitionsDefinition[Any] | None) -> Json | None:
    if partitions is None:
        return None
    if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        fmt = partitions.fmt
        return {
            "type": "time_window",
            "cron_schedule": partitions.cron_schedule,
            "start": partitions.start.strftime(fmt),
            "end": partitions.end.strftime(fmt) if partitions.end else None,
            "end_offset": partitions.end_offset,
            "timezone": partitions.timezone,
            "fmt": fmt,
            "exclusions": sorted(str(e) for e in partitions.exclusions or ()),
        }
    # the platform partitions by day only: another kind shows by its name, and needs its fields
    return {"type": type(partitions).__name__}


def _condition_tree(condition: dg.AutomationCondition[Any], depth: int = 0) -> list[str]:
    """One line per operator, indented under its parent: `NOT`, `ANY_DEPS_MATCH [label]`, ..."""
    label = condition.get_label()
    lines = ["  " * depth + condition.name + (f" [{label}]" if label else "")]
    children = list(condition.children)
    operand = getattr(condition, "operand", None)  # any/all_checks_match do not list theirs
    if not children and isinstance(operand, dg.AutomationCondition):
        children = [operand]
    for child in children:
        lines += _condition_tree(child, depth + 1)
    return lines


def _condition_name(condition: dg.AutomationCondition[Any], trees: dict[str, list[str]]) -> str:
    """The condition's label (its name if unlabeled), its tree recorded in `trees`; a different
    tree under a label already taken is recorded under the label and a number."""
    base = condition.get_label() or condition.name
    tree = _condition_tree(condition)
    name, number = base, 1
    while name in trees and trees[name] != tree:
        number += 1
        name = f"{base} ({number})"
    trees[name] = tree
    return name


def _checks(graph: Any, node: Any) -> Json:
    checks: Json = {}
    for check_key in sorted(node.check_keys, key=lambda k: k.name):
        spec: dg.AssetCheckSpec = graph.get_check_spec(check_key)
        checks[check_key.name] = {
            "blocking": spec.blocking,
            "additional_deps": sorted(
                dep.asset_key.to_user_string() for dep in spec.additional_deps
            ),
            "partitions": _partitions(spec.partitions_def),
        }
    return checks


def asset_graph_snapshot(definitions: dg.Definitions) -> Json:
    """What the snapshot file holds, as JSON-ready values."""
    graph = definitions.resolve_asset_graph()
    trees: dict[str, list[str]] = {}
    assets: Json = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        condition = node.automation_condition
        assets[key.to_user_string()] = {
            "deps": {
                parent.to_user_string(): _serialized(graph.get_partition_mapping(key, parent))
                for parent in sorted(node.parent_keys)
            },
            "partitions": _partitions(node.partitions_def),
            "automation_condition": _condition_name(condition, trees) if condition else None,
            "freshness_policy": _serialized(node.freshness_policy),
            "backfill_policy": _backfill(node.backfill_policy),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "pools": sorted(node.pools or ()),
            "tags": {k: v for k, v in node.tags.items() if not k.startswith(KIND_TAG)},
            "checks": _checks(graph, node),
        }
    repository = definitions.get_repository_def()
    return {
        "assets": assets,
        "automation_conditions": trees,
        # the implicit asset jobs (`__ASSET_JOB`) are Dagster's, not the platform's
        "jobs": sorted(
            j.name for j in definitions.resolve_all_job_defs() if not j.name.startswith("__")
        ),
        "schedules": {
            schedule.name: {
                "job": schedule.job_name,
                "cron_schedule": schedule.cron_schedule,
                "execution_timezone": schedule.execution_timezone,
                "default_status": schedule.default_status.value,
            }
            for schedule in sorted(repository.schedule_defs, key=lambda s: s.name)
        },
        "sensors": {
            sensor.name: {
                "type": sensor.sensor_type.value,
                "minimum_interval_seconds": sensor.minimum_interval_seconds,
                "default_status": sensor.default_status.value,
            }
            for sensor in sorted(repository.sensor_defs, key=lambda s: s.name)
        },
    }


def render(snapshot: Mapping[str, Any]) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True) + "\n"


def _changes(recorded: Any, current: Any, path: str = "", depth: int = 0) -> list[str]:
    """What differs, by section, entry and field: `assets gold/x: freshness_policy`."""
    if recorded == current:
        return []
    if depth == 3 or not (isinstance(recorded, dict) and isinstance(current, dict)):
        return [path]
    changes = []
    for name in sorted(set(recorded) | set(current)):
        where = f"{path}{' ' if depth == 1 else ': ' if depth == 2 else ''}{name}"
        if name not in recorded:
            changes.append(f"{where} (added)")
        elif name not in current:
            changes.append(f"{where} (removed)")
        else:
            changes += _changes(recorded[name], current[name], where, depth + 1)
    return changes


def test_asset_graph_matches_its_snapshot(default_settings: None) -> None:
    current = render(asset_graph_snapshot(defs()))
    if os.environ.get(UPDATE) == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
        return
    if not SNAPSHOT.exists():
        pytest.fail(f"no snapshot at {SNAPSHOT}: write it with {UPDATE}=1")
    recorded = SNAPSHOT.read_text()
    if recorded == current:
        return
    changed = _changes(json.loads(recorded), json.loads(current))
    diff = difflib.unified_diff(
        recorded.splitlines(keepends=True),
        current.splitlines(keepends=True),
        fromfile="tests/snapshots/asset_graph.json (recorded)",
        tofile="the asset graph (current)",
    )
    pytest.fail(
        "the asset graph differs from its snapshot in:\n"
        + "".join(f"  - {change}\n" for change in changed or ["(formatting only)"])
        + f"\nIf intended, rewrite it: {UPDATE}=1 pytest tests/{Path(__file__).name}\n\n"
        + "".join(diff),
        pytrace=False,
    )
