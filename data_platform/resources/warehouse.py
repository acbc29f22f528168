"""The DuckDB warehouse gold marts live in, and the dbt invocation that builds them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from data_platform.resources.duckdb_extensions import extension_directory

# What the dbt project reads from its environment (`profiles.yml`, the generated silver sources,
# `macros/daily_window.sql`): the platform's own location settings, made absolute, the extension
# folder, and the order-date window [start, end) of a daily build.
WAREHOUSE_VARIABLE = "PLATFORM_WAREHOUSE_PATH"
LAKE_VARIABLE = "PLATFORM_LAKE_DIR"
EXTENSIONS_VARIABLE = "DUCKDB_EXTENSION_DIRECTORY"
WINDOW_START_VARIABLE = "PLATFORM_WINDOW_START"
WINDOW_END_VARIABLE = "PLATFORM_WINDOW_END"

# DuckDB allows one writing process per database file: every step that writes the warehouse
# takes a slot in this pool, whose limit is 1 (see dagster.yaml written by `make run`).
WAREHOUSE_POOL = "duckdb_warehouse"


def _absolute(location: str) -> str:
    """dbt runs in its project folder, so local paths are made absolute; URLs pass through."""
    return location if "://" in location else str(Path(location).resolve())


class Warehouse(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Where gold is built (a DuckDB file) and where dbt reads silver from (the Delta lake)."""

    path: str = Field(description="DuckDB warehouse file.")
    lake_dir: str = Field(description="Root of the Delta lake dbt reads silver tables from.")

    def dbt_environment(self, window: dg.TimeWindow | None = None) -> dict[str, str]:
        """What every dbt invocation is given (`dbt_project/profiles.yml`, the silver sources and
        the daily window macro read it): the locations, and the partition window if any."""
        return {
            WAREHOUSE_VARIABLE: _absolute(self.path),
            LAKE_VARIABLE: _absolute(self.lake_dir),
            EXTENSIONS_VARIABLE: extension_directory(),
            WINDOW_START_VARIABLE: window.start.date().isoformat() if window else "",
            WINDOW_END_VARIABLE: window.end.date().isoformat() if window else "",
        }

    def dbt_target_dir(self) -> Path:
        """Where dbt keeps its parse and compiled SQL between runs: beside the warehouse it
        builds, one per deployment (`warehouse.duckdb` → `warehouse.dbt/`)."""
        return Path(_absolute(self.path)).with_suffix(".dbt")

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A connection for readers (checks, tests, BI); gold tables need no extension."""
        return duckdb.connect(_absolute(self.path), read_only=read_only)
