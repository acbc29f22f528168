"""The production profile: every layer on object storage, gold a DuckLake whose catalog is in
PostgreSQL, steps on Celery workers. The instance it is tested with is
`config/production/dagster.yaml` (PostgreSQL storage, S3 compute logs, run retries and
monitoring); `make run-prod` starts it on this machine's services."""

from __future__ import annotations

import dagster as dg
from dagster_celery import celery_executor

from data_platform import settings
from data_platform.profiles import common
from data_platform.resources.warehouse import Warehouse

# Celery settings the platform's steps need, beside the broker: a step's message is acknowledged
# only once it has run, and a worker that dies mid-step hands it back to the queue, so another
# worker runs it; one message at a time per worker process, as every step is heavy.
CELERY_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
}


def _object_store(name: str) -> None:
    if not settings.is_s3(name):
        raise ValueError(
            f"the production profile keeps every layer on object storage: set {name} to an "
            f"s3:// URL (it is {settings.value(name)!r})"
        )


def warehouse() -> Warehouse:
    return Warehouse(
        lake_dir=settings.setting(settings.LAKE_DIR),
        catalog=settings.setting(settings.GOLD_CATALOG),
        data_path=settings.setting(settings.GOLD_DATA_PATH),
        lock_timeout_seconds=float(settings.value(settings.WAREHOUSE_LOCK_TIMEOUT)),
    )


def resources() -> dict[str, object]:
    for name in (settings.LANDING_DIR, settings.LAKE_DIR, settings.GOLD_DATA_PATH):
        _object_store(name)
    return common.resources(warehouse())


def executor() -> dg.ExecutorDefinition:
    configured: dg.ExecutorDefinition = celery_executor.configured(
        {
            "broker": settings.config_value(settings.CELERY_BROKER),
            "backend": settings.config_value(settings.CELERY_BACKEND),
            "config_source": CELERY_SETTINGS,
        },
        name="celery_workers",
    )
    return configured
