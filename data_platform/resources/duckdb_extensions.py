"""DuckDB extensions shipped as wheels (duckdb-ext-*): DuckDB cannot download them at run time."""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_ext


def extension_directory() -> str:
    """Where the duckdb-ext-* wheels put their extensions; DuckDB's `extension_directory`."""
    return str(Path(next(iter(duckdb_ext.__path__))) / "extensions")


def connect(database: str = ":memory:", *extensions: str) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(database, config={"extension_directory": extension_directory()})
    for extension in extensions:
        connection.execute(f"LOAD {extension}")
    return connection
