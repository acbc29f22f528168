"""Hostile landings: every way a delivery can be broken, each in its own date folder.

For each case the test states exactly where every landed row must end (the quarantine reasons
and counts, the keys that stay in silver), and gold must equal DuckDB's computation over the rows
the test declares valid. Nothing crashes, nothing vanishes.
"""

import datetime as dt
import gzip
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from tests.conftest import (
    Landing,
    delete_record,
    platform_resources,
    read_table,
    tbl_line,
    tbl_order,
)

FIRST = dt.date(1995, 3, 1)
CUSTOMER = "1|Customer#1|addr|1|phone|1.00|BUILDING|c|\n"
NATION = "1|GERMANY|0|c|\n"
ORDER_COLUMNS = ",".join(entity_named("orders").column_names)


def order(key: int, day: dt.date, price: str = "100.00", status: str = "O") -> str:
    return tbl_order(key, day, price=price, customer=1, status=status)


def line(key: int, day: dt.date, discount: str = "0.05", number: int = 1) -> str:
    return tbl_line(key, day, number=number, discount=discount)


def tbl(*records: str) -> bytes:
    return "".join(r + "\n" for r in records).encode()


@dataclass
class Case:
    """Files landed for one date (`{day}` is replaced), and where their rows must go."""

    name: str
    files: dict[str, bytes]
    kept_orders: list[int]
    quarantined: Counter[tuple[str, str]] = field(default_factory=Counter)


def cases() -> list[Case]:
    c = []

    def add(
        name: str, make, kept: list[int], quarantined: dict[tuple[str, str], int] | None = None
    ) -> None:
        day = FIRST + dt.timedelta(days=len(c))
        base = 1000 * (len(c) + 1)
        files = make(day, base)
        files.setdefault(
            f"lineitem/{day}/lines.tbl", tbl(*(line(base + k, day) for k in (1, 2, 3)))
        )
        c.append(Case(name, files, [base + k for k in kept], Counter(quarantined or {})))

    add(
        "wrong_field_count",
        lambda d, b: {f"orders/{d}/o.tbl": tbl(order(b + 1, d), f"{b + 2}|1|O|")},
        [1],
        {("orders", "wrong_field_count"): 1},
    )
    add(
        "bad_number",
        lambda d, b: {f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 2, d, price="12,50"))},
        [1],
        {("orders", "bad_number"): 1},
    )
    add(
        "bad_date",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 2, d).replace(str(d), "1995-02-30"))
        },
        [1],
        {("orders", "bad_date"): 1},
    )
    add(
        "empty_key",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d), "|" + order(b + 2, d).split("|", 1)[1])
        },
        [1],
        {("orders", "missing_key"): 1},
    )
    add(
        "invalid_utf8",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d))
            + order(b + 2, d).encode().replace(b"Clerk", b"Cl\xffrk")
            + b"\n"
        },
        [1],
        {("orders", "invalid_utf8"): 1},
    )
    add(
        "truncated_last_line",
        lambda d, b: {f"orders/{d}/o.tbl": tbl(order(b + 1, d)) + f"{b + 2}|1|O|10".encode()},
        [1],
        {("orders", "truncated_line"): 1},
    )
    add(
        "exact_duplicate_lines",
        lambda d, b: {f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 1, d), order(b + 2, d))},
        [1, 2],
    )
    add(
        "redelivered_under_another_name",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 2, d)),
            f"orders/{d}/o (resent).tbl": tbl(order(b + 1, d), order(b + 2, d)),
        },
        [1, 2],
    )
    add(
        "update_and_delete_arriving_later",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 2, d)),
            f"orders/{d}/zz late fixes.tbl": tbl(
                order(b + 1, d, price="150.00") + "U|2024-06-01T00:00:00Z|",
                delete_record("orders", "2024-06-01T00:00:00Z", o_orderkey=b + 2).strip(),
            ),
        },
        [1],
    )
    add(
        "extra_columns",
        lambda d, b: {
            f"orders/{d}/o.csv": (
                ORDER_COLUMNS + ",note\n" + ",".join(order(b + 1, d).split("|")[:9]) + ",hello\n"
            ).encode()
        },
        [1],
    )
    add(
        "missing_column",
        lambda d, b: {
            f"orders/{d}/o.csv": (
                ORDER_COLUMNS.rsplit(",", 1)[0]
                + "\n"
                + ",".join(order(b + 1, d).split("|")[:8])
                + "\n"
            ).encode()
        },
        [],
        {("orders", "missing_value"): 1},
    )
    add(
        "empty_file",
        lambda d, b: {f"orders/{d}/o.tbl": tbl(order(b + 1, d)), f"orders/{d}/empty.tbl": b""},
        [1],
    )
    add(
        "header_only_csv",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d)),
            f"orders/{d}/h.csv": (ORDER_COLUMNS + "\r\n").encode(),
        },
        [1],
    )
    add(
        "crlf",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 2, d)).replace(b"\n", b"\r\n")
        },
        [1, 2],
    )
    add(
        "bom",
        lambda d, b: {
            f"orders/{d}/o.csv": (
                "\ufeff" + ORDER_COLUMNS + "\n" + ",".join(order(b + 1, d).split("|")[:9]) + "\n"
            ).encode()
        },
        [1],
    )
    add(
        "gzip",
        lambda d, b: {f"orders/{d}/o.tbl.gz": gzip.compress(tbl(order(b + 1, d), order(b + 2, d)))},
        [1, 2],
    )
    add(
        "odd_file_name",
        lambda d, b: {f"orders/{d}/Bestellung März #1 (final).tbl": tbl(order(b + 1, d))},
        [1],
    )
    add(
        "unknown_extension",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d)),
            f"orders/{d}/o.xlsx": b"PK\x03\x04",
        },
        [1],
    )
    add(
        "invalid_date_folder",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d)),
            "orders/1995-02-30/o.tbl": tbl(order(b + 2, d)),
        },
        [1],
    )
    add(
        "business_rule_violations",
        lambda d, b: {
            f"orders/{d}/o.tbl": tbl(order(b + 1, d), order(b + 2, d, status="X")),
            f"lineitem/{d}/lines.tbl": tbl(
                line(b + 1, d), line(b + 1, d, discount="0.20", number=2)
            ),
        },
        [1],
        {("orders", "o_orderstatus_known"): 1, ("lineitem", "l_discount_in_range"): 1},
    )
    return c


CASES = cases()
LAST = FIRST + dt.timedelta(days=len(CASES) - 1)


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Land every case, run bronze, silver and the daily gold mart once over all their dates."""
    from tests.conftest import materialize_layers

    root = tmp_path_factory.mktemp("hostile")
    landing = Landing(root / "landing")
    landing.drop("nation/1995-01-01/n.tbl", NATION)
    landing.drop("customer/1995-01-01/c.tbl", CUSTOMER)
    for case in CASES:
        for path, content in sorted(case.files.items()):
            landing.drop(path, content)
    from data_platform.definitions import build_definitions

    resources = platform_resources(root)
    assets = [a for a in build_definitions().assets if isinstance(a, dg.AssetsDefinition)]
    for entity in ("nation", "customer"):
        materialize_layers(assets, resources, entity)
    span = (FIRST.isoformat(), LAST.isoformat())
    results = {
        e: materialize_layers(assets, resources, e, partition_range=span)
        for e in ("orders", "lineitem")
    }
    gold = [a for a in assets if dg.AssetKey(["gold", "daily_revenue_by_nation"]) in a.keys]
    tags = {
        "dagster/asset_partition_range_start": span[0],
        "dagster/asset_partition_range_end": span[1],
    }
    assert dg.materialize(gold, resources=resources, tags=tags).success
    return {"root": root, "results": results}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_hostile_case_ends_exactly_where_it_should(
    landed: dict[str, object], case: Case
) -> None:
    root = landed["root"]
    assert isinstance(root, Path)
    day = FIRST + dt.timedelta(days=CASES.index(case))
    silver = read_table(root / "lake", "silver", "orders").filter(pl.col(lin.BUSINESS_DATE) == day)
    assert sorted(silver["o_orderkey"].to_list()) == case.kept_orders
    found: Counter[tuple[str, str]] = Counter()
    for entity in ("orders", "lineitem"):
        quarantine = read_table(root / "lake", "quarantine", entity).filter(
            pl.col(lin.BUSINESS_DATE) == day
        )
        found.update((entity, reason) for reason in quarantine[lin.REASON].to_list())
    assert found == case.quarantined


def test_the_update_wins_and_the_delete_removes(landed: dict[str, object]) -> None:
    root = landed["root"]
    assert isinstance(root, Path)
    case = next(c for c in CASES if c.name == "update_and_delete_arriving_later")
    day = FIRST + dt.timedelta(days=CASES.index(case))
    silver = read_table(root / "lake", "silver", "orders").filter(pl.col(lin.BUSINESS_DATE) == day)
    assert [str(p) for p in silver["o_totalprice"]] == ["150.00"]


def test_files_off_contract_are_passed_over_and_counted(landed: dict[str, object]) -> None:
    results = landed["results"]
    assert isinstance(results, dict)
    bronze = [
        e for e in results["orders"].get_asset_check_evaluations() if e.check_name == "known_layout"
    ]
    assert bronze[0].metadata["files_passed_over"].value == 2


def test_unknown_columns_stay_in_bronze_and_their_file_is_named(landed: dict[str, object]) -> None:
    root, results = landed["root"], landed["results"]
    assert isinstance(root, Path)
    assert isinstance(results, dict)
    day = FIRST + dt.timedelta(days=[c.name for c in CASES].index("extra_columns"))
    bronze = read_table(root / "lake", "bronze", "orders").filter(pl.col(lin.BUSINESS_DATE) == day)
    assert bronze[lin.EXTRA_COLUMNS].to_list() == ['{"note":"hello"}']
    (drift,) = [
        e
        for e in results["orders"].get_asset_check_evaluations()
        if e.check_name == "known_columns"
    ]
    assert not drift.passed
    (column,) = drift.metadata["unknown_columns"].value.records
    assert column.data == {"column": "note", "files": 1}
    examples = drift.metadata["examples"].value
    assert [r.data[lin.SOURCE_FILE] for r in examples.records] == [f"orders/{day}/o.csv"]


def test_gold_equals_duckdb_over_the_valid_rows(landed: dict[str, object]) -> None:
    """Every case lands one valid line (50.00, 5% off) for each of its orders; only the lines of
    the orders the case keeps count."""
    root = landed["root"]
    assert isinstance(root, Path)
    valid = [
        (FIRST + dt.timedelta(days=index), key)
        for index, case in enumerate(CASES)
        for key in case.kept_orders
    ]
    lines = pl.DataFrame(valid, schema={"day": pl.Date, "key": pl.Int64}, orient="row")
    with duckdb.connect() as oracle:
        oracle.register("lines", lines.to_arrow())
        expected = oracle.sql(
            "select day::varchar, 'GERMANY', count(distinct key),"
            " round(sum(50.00 * (1 - 0.05)), 2) from lines group by day order by day"
        ).fetchall()
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        gold = connection.sql(
            "select order_date::varchar, nation, order_count, revenue"
            " from gold.daily_revenue_by_nation order by order_date"
        ).fetchall()
    assert gold == expected
