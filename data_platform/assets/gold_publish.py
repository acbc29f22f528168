"""Write, audit, publish for gold: readers never see a mart that failed one of its dbt tests.

dbt builds and tests the marts in `gold_audit`, the writer's working copy (the build schema,
`macros/generate_schema_name.sql`). Once the build is over, the marts whose blocking tests all
passed are copied into `gold`, the schema readers use, in one transaction: a daily mart's window,
any other mart whole. A mart that failed a test is not published: readers keep its last good
version, its working copy is put back to that version (so the next incremental build does not
build on the rejected rows), and its failed checks say so in their metadata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
import duckdb

from data_platform.catalog.metadata import records_table
from data_platform.catalog.partitions import DateWindow
from data_platform.resources.warehouse import AUDIT_SCHEMA, PUBLISHED_SCHEMA

FAILED_ROWS_SHOWN = 10


def rejected_marts(events: Sequence[Any]) -> set[dg.AssetKey]:
    """The marts with a failed test of severity error (dbt's blocking tests)."""
    return {
        event.asset_key
        for event in events
        if isinstance(event, dg.AssetCheckResult)
        and not event.passed
        and event.severity == dg.AssetCheckSeverity.ERROR
        and event.asset_key is not None
    }


def publish(
    connection: duckdb.DuckDBPyConnection,
    passed: Iterable[dg.AssetKey],
    rejected: Iterable[dg.AssetKey],
    window: DateWindow | None,
    date_column: str | None,
) -> None:
    """In one transaction: the passed marts from the working copy into `gold`, and the rejected
    ones' working copies back to what `gold` holds."""
    span = (window, date_column) if window is not None and date_column is not None else None
    connection.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
    connection.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    connection.execute("begin transaction")
    try:
        for key in passed:
            _copy(connection, key.path[-1], AUDIT_SCHEMA, PUBLISHED_SCHEMA, span)
        for key in rejected:
            _copy(connection, key.path[-1], PUBLISHED_SCHEMA, AUDIT_SCHEMA, span)
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise


def _exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = connection.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database()"
        " and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])


def _copy(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    target: str,
    span: tuple[DateWindow, str] | None,
) -> None:
    """`target.table` as `source.table` is: the window's rows of a daily mart, else all of it."""
    if not _exists(connection, source, table):
        connection.execute(f"drop table if exists {target}.{table}")
        return
    if span is None or not _exists(connection, target, table):
        connection.execute(f"create or replace table {target}.{table} as from {source}.{table}")
        return
    (low, high), column = span
    where = f"where {column} >= ? and {column} < ?"
    bounds: list[dt.date] = [low, high]
    connection.execute(f"delete from {target}.{table} {where}", bounds)
    connection.execute(
        f"insert into {target}.{table} by name select * from {source}.{table} {where}", bounds
    )


def unpublished(
    connection: duckdb.DuckDBPyConnection, result: dg.AssetCheckResult, manifest: Mapping[str, Any]
) -> dg.AssetCheckResult:
    """A failed test of a mart that was not published: what readers see, and the failing rows
    (dbt stores them, `store_failures` in `dbt_project.yml`)."""
    assert result.asset_key is not None
    table = f"{PUBLISHED_SCHEMA}.{result.asset_key.path[-1]}"
    metadata: dict[str, Any] = {
        "published": dg.MetadataValue.bool(False),
        "readers_see": dg.MetadataValue.text(
            f"{table} as it was before this run (its last version whose tests passed)"
        ),
    }
    unique_id = result.metadata.get("unique_id")
    node = manifest["nodes"].get(unique_id.value if unique_id else "", {})
    if node.get("schema") and node.get("alias"):
        relation = f'{node["schema"]}."{node["alias"]}"'
        try:
            rows = connection.execute(f"select * from {relation} limit {FAILED_ROWS_SHOWN}").pl()
            metadata["failing_rows"] = records_table(rows)
        except duckdb.Error as error:  # the failures table may not exist (a compile error)
            metadata["failing_rows"] = dg.MetadataValue.text(f"not readable: {error}")
    return result.with_metadata({**result.metadata, **metadata})
