"""What the UI shows of each mart dbt built: row counts, a preview of rows, column lineage.

It is read once dbt has exited, through the warehouse resource: DuckDB lets no other process
open the file while dbt writes it. dagster-dbt's `fetch_row_counts()` waits for that as well, but
its dbt adapter keeps the file open in the run process afterwards, so the next dbt step of the
same run cannot lock the warehouse; its `fetch_column_metadata()` cannot see through the
ephemeral staging models to silver (their relations are `delta_scan(...)` calls), so the lineage
is derived here with sqlglot, the parser dagster-dbt uses, from the SQL dbt compiled.
"""

import re

import dagster as dg
import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify

from data_platform.catalog.metadata import (
    add_counts_per_partition,
    covers_one_partition,
    records_table,
)
from data_platform.catalog.partitions import partition_dates
from data_platform.contracts import lineage as lin
from data_platform.contracts.history import silver_tables

PREVIEW_ROWS = 10
SILVER_SCAN = re.compile(r"delta_scan\('[^']*/silver/(\w+)'\)")


def mart_metadata(
    context: dg.AssetExecutionContext,
    connection: duckdb.DuckDBPyConnection,
    key: dg.AssetKey,
    date_column: str | None,
) -> dict[str, dg.MetadataValue]:
    """The mart's row count and, when the run built one slice, a preview of its rows. A daily
    mart (`date_column` says which day a row belongs to) has its count on each partition."""
    table = ".".join(key.path)
    metadata: dict[str, dg.MetadataValue] = {}
    if date_column is None:
        where, params = "", []
        rows = int(connection.execute(f"select count(*) from {table}").pl().item())
        metadata["dagster/row_count"] = dg.MetadataValue.int(rows)
    else:
        window = partition_dates(context)
        assert window is not None, f"{date_column} is the date of a daily partitioned mart"
        where = f" where {date_column} >= ? and {date_column} < ?"
        params = list(window)
        per_day = f"select {date_column} as {lin.BUSINESS_DATE}, count(*) as rows from {table}"
        counts = connection.execute(f"{per_day}{where} group by all", params).pl()
        add_counts_per_partition(context, key, counts, row_count="rows")
    if covers_one_partition(context):
        preview = connection.execute(f"select * from {table}{where} limit {PREVIEW_ROWS}", params)
        metadata["preview"] = records_table(preview.pl())
    return metadata


def silver_tables_for_sqlglot() -> dict[str, object]:
    """The silver tables' columns for sqlglot (the names are what lineage needs, not types)."""
    return {
        "silver": {
            name: dict.fromkeys(schema, "unknown") for name, (_, schema) in silver_tables().items()
        },
    }


def column_lineage(compiled_sql: str) -> dg.TableColumnLineage:
    """For each column of a mart, the silver columns it is computed from."""
    schema = silver_tables_for_sqlglot()
    sql = SILVER_SCAN.sub(r"silver.\1", compiled_sql)
    query = qualify(sqlglot.parse_one(sql, dialect="duckdb"), schema=schema, dialect="duckdb")
    if not isinstance(query, exp.Query):
        raise ValueError(f"a mart's SQL is a query, not {type(query).__name__}")
    deps: dict[str, list[dg.TableColumnDep]] = {}
    for column in query.named_selects:
        # lineage() is given SQL text: it re-derives scopes an already-qualified tree may lack
        nodes = lineage(column, query.sql(dialect="duckdb"), schema=schema, dialect="duckdb")
        sources = {
            (node.source.name, exp.to_column(node.name).name)
            for node in nodes.walk()
            if isinstance(node.source, exp.Table) and node.source.db == "silver"
        }
        deps[column] = [
            dg.TableColumnDep(asset_key=dg.AssetKey(["silver", table]), column_name=name)
            for table, name in sorted(sources)
        ]
    return dg.TableColumnLineage(deps_by_column=deps)
