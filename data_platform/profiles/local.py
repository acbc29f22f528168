"""The local profile: local disk (or S3 for a location given as an `s3://` URL), a DuckDB
warehouse file, every step in the run's own process."""

from __future__ import annotations

import dagster as dg

from data_platform import settings
from data_platform.profiles import common
from data_platform.resources.warehouse import Warehouse


def warehouse() -> Warehouse:
    return Warehouse(
        path=settings.env_or_default(settings.WAREHOUSE_PATH),
        lake_dir=settings.env_or_default(settings.LAKE_DIR),
        first_business_date=settings.env_or_default(settings.PARTITIONS_START),
        lock_timeout_seconds=float(settings.read(settings.WAREHOUSE_LOCK_TIMEOUT)),
        reader_timeout_seconds=float(settings.read(settings.WAREHOUSE_READER_TIMEOUT)),
        busy_retries=int(settings.read(settings.WAREHOUSE_BUSY_RETRIES)),
    )


def resources() -> dict[str, object]:
    return common.resources(warehouse())


def executor() -> dg.ExecutorDefinition:
    # Each step is one heavy, already multi-threaded operation (polars, delta-rs, DuckDB); a
    # process per step would only add seconds of start-up and multiply peak memory.
    return dg.in_process_executor
