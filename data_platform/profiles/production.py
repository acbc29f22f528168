"""The production profile: every layer on object storage, gold a DuckLake whose catalog is in
PostgreSQL, steps on Celery workers. The instance it is tested with is
`config/production/dagster.yaml` (PostgreSQL storage, S3 compute logs, run retries and
monitoring); `make run-prod` starts it on this machine's services."""

from __future__ import annotations

from urllib.parse import urlparse

import dagster as dg
from dagster_aws.s3 import S3PickleIOManager, S3Resource
from dagster_celery import celery_executor

from data_platform import settings
from data_platform.profiles import celery_results, common
from data_platform.resources.duckdb_extensions import extension_directory
from data_platform.resources.ducklake_io_manager import DuckLakePolarsIOManager
from data_platform.resources.object_store import duckdb_s3_secret, s3_settings
from data_platform.resources.warehouse import Warehouse

# Celery settings the platform's steps need, beside the broker. They act in the workers (each is
# started with them, see deploy/production_stack.py): a step's message is acknowledged only once
# the step has run, so a worker that dies mid-step leaves it to the broker, which hands it to
# another worker; one message at a time per worker process, as every step is heavy; a step's
# output goes to its compute log (Celery would otherwise swallow it into the worker's log); a
# step's result (all its events) comes back compressed, so a long range fits one broker message.
CELERY_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_prefetch_multiplier": 1,
    "worker_redirect_stdouts": False,
    "imports": [celery_results.__name__],
    "result_serializer": celery_results.NAME,
    "result_accept_content": ["json", celery_results.CONTENT_TYPE],
}


def _object_store(name: str) -> None:
    if not settings.is_s3(name):
        raise ValueError(
            f"the production profile keeps every layer on object storage: set {name} to an "
            f"s3:// URL (it is {settings.read(name)!r})"
        )


def warehouse() -> Warehouse:
    return Warehouse(
        lake_dir=settings.env_or_default(settings.LAKE_DIR),
        catalog=settings.env_or_default(settings.GOLD_CATALOG),
        data_path=settings.env_or_default(settings.GOLD_DATA_PATH),
        first_business_date=settings.env_or_default(settings.PARTITIONS_START),
        pseudonym_salt=settings.env_only(settings.PSEUDONYM_SALT),
        lock_timeout_seconds=float(settings.read(settings.WAREHOUSE_LOCK_TIMEOUT)),
        reader_timeout_seconds=float(settings.read(settings.WAREHOUSE_READER_TIMEOUT)),
        busy_retries=int(settings.read(settings.WAREHOUSE_BUSY_RETRIES)),
    )


def step_io_manager() -> S3PickleIOManager:
    """What the few outputs that are not tables pass between steps on different machines, in
    the lake's bucket (the local profile keeps them under DAGSTER_HOME)."""
    bucket = urlparse(settings.read(settings.LAKE_DIR)).netloc
    options = s3_settings()
    return S3PickleIOManager(
        s3_resource=S3Resource(
            endpoint_url=options.get("endpoint"), region_name=options.get("region")
        ),
        s3_bucket=bucket,
        s3_prefix="dagster-step-io",
    )


def quality_io_manager() -> DuckLakePolarsIOManager:
    """The quality mart in a DuckLake, by default gold's: any worker may write it, and readers
    attach it as they do gold. It needs no writer lock: DuckLake commits snapshots of different
    tables side by side, and only this step writes schema `quality` (one run at a time)."""
    s3 = duckdb_s3_secret()
    # S3 keys and region come from the AWS_* variables, which DuckDB reads itself
    config = {
        "extension_directory": extension_directory(),
        "autoload_known_extensions": True,
        "autoinstall_known_extensions": False,
        "s3_endpoint": s3["PLATFORM_S3_ENDPOINT"],
        "s3_url_style": s3["PLATFORM_S3_URL_STYLE"],
        "s3_use_ssl": s3["PLATFORM_S3_USE_SSL"] == "true",
    }
    catalog: str | dg.EnvVar = f"ducklake:postgres:{settings.read(settings.GOLD_CATALOG)}"
    if settings.read(settings.QUALITY_CATALOG):
        catalog = settings.env_or_default(settings.QUALITY_CATALOG)
    return DuckLakePolarsIOManager(
        database=catalog,
        connection_config=config,
        data_path=settings.env_or_default(settings.GOLD_DATA_PATH),
    )


def resources() -> dict[str, object]:
    for name in (settings.LANDING_DIR, settings.LAKE_DIR, settings.GOLD_DATA_PATH):
        _object_store(name)
    return {
        **common.resources(warehouse()),
        "io_manager": step_io_manager(),
        "quality_io_manager": quality_io_manager(),
    }


def executor() -> dg.ExecutorDefinition:
    configured: dg.ExecutorDefinition = celery_executor.configured(
        {
            "broker": settings.config_source(settings.CELERY_BROKER),
            "backend": settings.config_source(settings.CELERY_BACKEND),
            "config_source": CELERY_SETTINGS,
        },
        name="celery_workers",
    )
    return configured
