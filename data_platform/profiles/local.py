"""The local profile: local disk (or S3 for a location given as an `s3://` URL), a DuckDB
warehouse file, every step in the run's own process."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb_polars import DuckDBPolarsIOManager

from data_platform import settings
from data_platform.profiles import common
from data_platform.resources.warehouse import Warehouse

QUALITY_FILE = "data_quality.duckdb"


def warehouse() -> Warehouse:
    return Warehouse(
        path=settings.env_or_default(settings.WAREHOUSE_PATH),
        lake_dir=settings.env_or_default(settings.LAKE_DIR),
        first_business_date=settings.env_or_default(settings.PARTITIONS_START),
        pseudonym_salt=settings.env_or_default(settings.PSEUDONYM_SALT),
        lock_timeout_seconds=float(settings.read(settings.WAREHOUSE_LOCK_TIMEOUT)),
        reader_timeout_seconds=float(settings.read(settings.WAREHOUSE_READER_TIMEOUT)),
        busy_retries=int(settings.read(settings.WAREHOUSE_BUSY_RETRIES)),
    )


def quality_io_manager() -> DuckDBPolarsIOManager:
    """The quality mart's own DuckDB file, by default beside the warehouse: gold's file admits
    one writer, dbt's builds."""
    beside = Path(settings.read(settings.WAREHOUSE_PATH)).with_name(QUALITY_FILE)
    return DuckDBPolarsIOManager(
        database=settings.env_or_default(settings.QUALITY_PATH) or str(beside)
    )


def resources() -> dict[str, object]:
    return {**common.resources(warehouse()), "quality_io_manager": quality_io_manager()}


def executor() -> dg.ExecutorDefinition:
    # Each step is one heavy, already multi-threaded operation (polars, delta-rs, DuckDB); a
    # process per step would only add seconds of start-up and multiply peak memory.
    return dg.in_process_executor
