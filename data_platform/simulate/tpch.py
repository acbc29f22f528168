"""Generate TPC-H tables with DuckDB's tpch extension (dbgen)."""

from __future__ import annotations

import polars as pl

from data_platform.contracts import ENTITIES, ColumnKind
from data_platform.resources.duckdb_extensions import connect

# the order date: the business date orders and lineitem land under (lineitem carries its order's)
ORDER_DATE = "o_orderdate"
DATE_COLUMNS = (
    ORDER_DATE,
    *(
        c.name
        for e in ENTITIES
        for c in e.columns
        if c.kind is ColumnKind.DATE and c.name != ORDER_DATE
    ),
)


def generate(scale_factor: float) -> dict[str, pl.DataFrame]:
    """Every TPC-H table at `scale_factor`; lineitem carries its order's date as `o_orderdate`."""
    connection = connect(":memory:", "tpch")
    connection.execute(f"CALL dbgen(sf={float(scale_factor)})")
    tables = {
        entity.name: connection.sql(f"select * from {entity.name}").pl() for entity in ENTITIES
    }
    tables["lineitem"] = connection.sql(
        "select l.*, o.o_orderdate from lineitem l join orders o on l.l_orderkey = o.o_orderkey"
    ).pl()
    connection.close()
    return tables


def shift_dates(tables: dict[str, pl.DataFrame], days: int) -> dict[str, pl.DataFrame]:
    """Move every date by `days`, keeping the data's internal consistency."""
    offset = pl.duration(days=days)
    return {
        name: frame.with_columns(
            [(pl.col(c) + offset).alias(c) for c in DATE_COLUMNS if c in frame.columns]
        )
        for name, frame in tables.items()
    }
