"""Deployment profiles: the one place that decides, from `PLATFORM_PROFILE`, which resources and
which executor the code location runs with. Nothing else in the platform branches on it.

- `local` (the default): landing zone, lake and a DuckDB warehouse on local disk (or S3 when a
  location is an `s3://` URL), every step in the run's own process.
- `production`: landing zone, lake and gold (a DuckLake) on object storage with the DuckLake
  catalog on PostgreSQL, steps on Celery workers.

Each profile also ships the Dagster instance it is tested with (`config/<profile>/dagster.yaml`);
the platform's correctness does not depend on it (see `data_platform/resources/warehouse.py`).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import dagster as dg

from data_platform import settings
from data_platform.compat import declare_event_batching
from data_platform.profiles import local, production

PROFILES: dict[str, ModuleType] = {"local": local, "production": production}
CONFIG_DIR = Path(__file__).parents[2] / "config"


def active_name() -> str:
    name = settings.read(settings.PROFILE)
    if name not in PROFILES:
        raise ValueError(f"{settings.PROFILE}={name!r}: choose one of {', '.join(PROFILES)}")
    return name


def declare_process_settings() -> None:
    """What the platform's processes need from Dagster's environment settings, unless the
    deployment set them itself: a range run's per-partition events of an asset written as one
    batch (PostgreSQL: one INSERT; the local profile's event log: one transaction), so
    automation sees a range land whole, not in slices."""
    declare_event_batching()


def resources() -> dict[str, object]:
    built: dict[str, object] = PROFILES[active_name()].resources()
    return built


def executor() -> dg.ExecutorDefinition:
    chosen: dg.ExecutorDefinition = PROFILES[active_name()].executor()
    return chosen


def instance_template(name: str) -> Path:
    """The instance file a profile is run and tested with."""
    return CONFIG_DIR / name / "dagster.yaml"
