"""The oracle for the gold marts: TPC-H's published answers and DuckDB on the generated tables.

`pricing_summary` and `local_supplier_volume` are TPC-H Q1 and Q5, whose answers DuckDB's tpch
extension publishes (`tpch_answers()`, SF 0.01, 0.1 and 1). `daily_revenue_by_nation` and
`customer_lifetime_value` have no published answer; DuckDB computes their definitions directly on
the dbgen tables instead. Gold carries a customer's name as its pseudonym (`macros/privacy.sql`),
so the oracle does too, computed here independently of dbt's SQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal

import duckdb

from data_platform import settings
from data_platform.resources.duckdb_extensions import connect

PUBLISHED = {"pricing_summary": 1, "local_supplier_volume": 5}
# Averages are floating point in TPC-H's answers; everything else must match exactly.
APPROXIMATE = {"avg_qty", "avg_price", "avg_disc"}
RELATIVE_TOLERANCE = Decimal("1e-9")

DIRECT = {
    "daily_revenue_by_nation": """
        select o_orderdate as order_date, n_name as nation,
               count(distinct o_orderkey) as order_count,
               round(sum(l_extendedprice * (1 - l_discount)), 2) as revenue
        from orders join lineitem on l_orderkey = o_orderkey
             join customer on c_custkey = o_custkey join nation on n_nationkey = c_nationkey
        group by all order by order_date, nation""",
    "customer_lifetime_value": """
        select c_custkey, c_name, n_name as nation, min(o_orderdate) as first_order_date,
               max(o_orderdate) as last_order_date, count(*) as order_count,
               sum(o_totalprice) as lifetime_value,
               case when sum(o_totalprice) >= 2000000 then 'VIP'
                    when sum(o_totalprice) >= 1000000 then 'Gold'
                    when sum(o_totalprice) >= 250000 then 'Silver' else 'Bronze' end as segment
        from customer join orders on o_custkey = c_custkey join nation on n_nationkey = c_nationkey
        group by all order by c_custkey""",
}
# the marts' columns that carry a pseudonym of a personal value
PSEUDONYMIZED = {"customer_lifetime_value": {"c_name"}}
ORDER_BY = {
    "pricing_summary": "l_returnflag, l_linestatus",
    "local_supplier_volume": "revenue desc",
    "daily_revenue_by_nation": "order_date, nation",
    "customer_lifetime_value": "c_custkey",
}


def pseudonym(salt: str, value: str) -> str:
    """What `macros/privacy.sql` makes of a personal value: sha256(salt || value), 16 hex digits."""
    return hashlib.sha256((salt + value).encode()).hexdigest()[:16]


def expected(
    scale_factor: float, pseudonym_salt: str | None = None
) -> dict[str, tuple[list[str], list[tuple[str, ...]]]]:
    """Every mart's expected (columns, rows as text) at `scale_factor`, with pseudonyms keyed by
    `pseudonym_salt` (by default PLATFORM_PSEUDONYM_SALT's, as the local profile has it)."""
    salt = settings.read(settings.PSEUDONYM_SALT) if pseudonym_salt is None else pseudonym_salt
    connection = connect(":memory:", "tpch")
    connection.execute(f"CALL dbgen(sf={float(scale_factor)})")
    marts = {}
    for mart, query in PUBLISHED.items():
        answer = connection.execute(
            "select answer from tpch_answers() where query_nr = ? and scale_factor = ?",
            [query, scale_factor],
        ).fetchone()
        if answer is None:
            raise ValueError(f"TPC-H publishes no answer for Q{query} at SF {scale_factor}")
        header, *rows = list(csv.reader(io.StringIO(answer[0]), delimiter="|"))
        marts[mart] = (header, [tuple(row) for row in rows if row])
    for mart, sql in DIRECT.items():
        columns, computed = _as_text(connection, sql)
        hidden = [name in PSEUDONYMIZED.get(mart, ()) for name in columns]
        marts[mart] = (
            columns,
            [
                tuple(pseudonym(salt, v) if h else v for v, h in zip(row, hidden, strict=True))
                for row in computed
            ],
        )
    connection.close()
    return marts


def _as_text(
    connection: duckdb.DuckDBPyConnection, sql: str
) -> tuple[list[str], list[tuple[str, ...]]]:
    relation = connection.sql(sql)
    return relation.columns, [tuple(str(v) for v in row) for row in relation.fetchall()]


def mismatches(
    warehouse: duckdb.DuckDBPyConnection,
    expected_marts: dict[str, tuple[list[str], list[tuple[str, ...]]]],
    schema: str = "gold",
) -> list[str]:
    """What in the warehouse's gold tables differs from the oracle (empty when all is right)."""
    problems = []
    for mart, (columns, rows) in expected_marts.items():
        actual = _as_text(
            warehouse, f"select {', '.join(columns)} from {schema}.{mart} order by {ORDER_BY[mart]}"
        )[1]
        if len(actual) != len(rows):
            problems.append(f"{mart}: {len(actual)} rows, expected {len(rows)}")
            continue
        for number, (got, want) in enumerate(zip(actual, rows, strict=True)):
            for column, a, b in zip(columns, got, want, strict=True):
                if not _equal(column, a, b):
                    problems.append(f"{mart} row {number} {column}: {a} != {b}")
                    break
    return problems


def _equal(column: str, actual: str, expected: str) -> bool:
    try:
        a, b = Decimal(actual), Decimal(expected)
    except ArithmeticError:
        return actual == expected
    if column in APPROXIMATE:
        return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(b), Decimal(1))
    return a == b
