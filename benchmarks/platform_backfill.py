"""The platform's full-history backfill, executed as the run worker would execute it.

Dimensions first, then one single-run range over every daily partition of bronze, silver and gold
(the backfill policy every partitioned asset has), on a Dagster instance configured like the
active profile's (`config/<PLATFORM_PROFILE>/dagster.yaml`). No daemon is involved, so there is
no polling delay. `materialize()` executes every step in this process, whatever executor the
profile's code location names (the production profile's Celery executor is not used).

The report has each materialize()'s wall time and, read back from the instance afterwards (not
timed), where that time went: before the run started, inside steps, between steps, after the run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg

STEP_END = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)


def main(first_day: str, last_day: str, report: str) -> int:
    from data_platform import profiles
    from data_platform.definitions import build_definitions

    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(profiles.instance_template(profiles.active_name()), home / "dagster.yaml")

    definitions = build_definitions()
    assets = [a for a in definitions.assets or [] if isinstance(a, dg.AssetsDefinition)]
    timings: dict[str, float] = {}
    run_ids: dict[str, tuple[str, float, float]] = {}
    with dg.DagsterInstance.get() as instance:
        for name, selected, tags in (
            ("dimensions", [a for a in assets if a.partitions_def is None and _upstream(a)], {}),
            (
                "daily history",
                [a for a in assets if a.partitions_def is not None],
                {
                    "dagster/asset_partition_range_start": first_day,
                    "dagster/asset_partition_range_end": last_day,
                },
            ),
            (
                "gold reports",
                [a for a in assets if a.partitions_def is None and not _upstream(a)],
                {},
            ),
        ):
            called, started = time.time(), time.perf_counter()
            result = dg.materialize(
                selected, instance=instance, resources=definitions.resources, tags=tags
            )
            timings[name] = time.perf_counter() - started
            run_ids[name] = (result.run_id, called, called + timings[name])
            if not result.success:
                return 1
        breakdown = {name: where_the_time_went(instance, *run) for name, run in run_ids.items()}
    Path(report).write_text(json.dumps({"runs": timings, "breakdown": breakdown}))
    return 0


def where_the_time_went(
    instance: dg.DagsterInstance, run_id: str, called: float, returned: float
) -> dict[str, Any]:
    """A run's wall time cut at its events: materialize() called → RUN_START (building the job,
    creating the run), RUN_START → RUN_SUCCESS split into steps (STEP_START → STEP_SUCCESS, which
    includes loading inputs and storing outputs) and the rest (the executor between steps), and
    RUN_SUCCESS → materialize() returned. Before RUN_START, the instance records an
    ASSET_MATERIALIZATION_PLANNED event per asset and partition (per asset, with the range, where
    DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS is set), counted here."""
    events = instance.all_logs(
        run_id,
        of_type={
            dg.DagsterEventType.RUN_START,
            dg.DagsterEventType.RUN_SUCCESS,
            dg.DagsterEventType.RUN_FAILURE,
            dg.DagsterEventType.STEP_START,
            *STEP_END,
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        },
    )
    run_start = run_end = 0.0
    step_start: dict[str, float] = {}
    steps: dict[str, float] = {}
    planned = 0
    for event in events:
        kind = event.dagster_event_type
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned += 1
        elif kind == dg.DagsterEventType.RUN_START:
            run_start = event.timestamp
        elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
            run_end = event.timestamp
        elif kind == dg.DagsterEventType.STEP_START and event.step_key:
            step_start[event.step_key] = event.timestamp
        elif kind in STEP_END and event.step_key in step_start:
            steps[event.step_key] = event.timestamp - step_start[event.step_key]
    in_steps = sum(steps.values())
    slowest = sorted(steps.items(), key=lambda item: -item[1])[:3]
    return {
        "before run": run_start - called,
        "in steps": in_steps,
        "between steps": (run_end - run_start) - in_steps,
        "after run": returned - run_end,
        "steps": len(steps),
        # written one by one before RUN_START: one per asset and partition of the run, or one
        # per asset where DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS is set
        "planned events": planned,
        "slowest": slowest,
    }


def _upstream(asset: dg.AssetsDefinition) -> bool:
    """Bronze and silver; gold reports need the daily history first."""
    return all(key.path[0] != "gold" for key in asset.keys)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
