"""dagster-duckdb's polars IO manager on a DuckLake (the production profile's quality history)."""

from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb_polars import DuckDBPolarsIOManager
from pydantic import Field


class DuckLakePolarsIOManager(DuckDBPolarsIOManager):
    """dagster-duckdb's IO manager on a DuckLake (`database` is `ducklake:postgres:<catalog>`).

    DuckDB opens such a database by itself (autoloading the extensions from the wheels'
    folder), but a catalog's first attach must name its data path, which the IO manager's
    `duckdb.connect(database)` cannot: the catalog is attached once with it first (a no-op for
    an existing one, such as gold's once dbt has built)."""

    data_path: str = Field(description="Where a new DuckLake keeps its data files.")

    def create_io_manager(self, context: dg.InitResourceContext) -> Any:
        with duckdb.connect(":memory:", config=self.connection_config) as connection:
            connection.execute(
                f"ATTACH '{self.database}' AS quality_catalog (DATA_PATH '{self.data_path}')"
            )
        return super().create_io_manager(context)
