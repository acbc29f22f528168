"""Bronze text rows to silver: typing, quarantine reasons, versions, deletes, redeliveries."""

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from data_platform.landing.formats import read_landed_file
from data_platform.landing.layout import LandedFile
from data_platform.transforms.silver import SilverResult, refine
from tests.conftest import tbl_order

ORDERS = entity_named("orders")
DAY = dt.date(1995, 1, 1)


def order(key: object = 1, price: object = "100.00", day: dt.date = DAY, **change: str) -> str:
    line = tbl_order(key, day, price=str(price))
    if change:
        line += f"{change.get('op', '')}|{change.get('at', '')}|"
    return line


def bronze(*files: tuple[str, list[str]], day: dt.date = DAY) -> pl.DataFrame:
    """Land files in order, a minute apart, as bronze rows."""
    frames = []
    for minute, (name, lines) in enumerate(files):
        content = ("\n".join(lines) + "\n").encode()
        landed_at = dt.datetime(2024, 1, 1, 0, minute, tzinfo=dt.UTC)
        landed = LandedFile(f"orders/{day}/{name}", "orders", day, "tbl", False, 0, landed_at)
        frames.append(read_landed_file(ORDERS, landed, content))
    ingested = pl.lit(dt.datetime(2024, 2, 1, tzinfo=dt.UTC), lin.UTC_TIMESTAMP)
    return pl.concat(frames).with_columns(ingested.alias(lin.INGESTED_AT))


def current(result: SilverResult) -> list[tuple[object, ...]]:
    return result.silver.select("o_orderkey", "o_totalprice").rows()


def test_values_are_typed_as_tpch_specifies() -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(1, " 1234.5 ")])))
    row = result.silver.row(0, named=True)
    assert result.silver.schema["o_orderkey"] == pl.Int64
    assert result.silver.schema["o_totalprice"] == pl.Decimal(15, 2)
    assert (row["o_orderkey"], row["o_totalprice"], row["o_orderdate"]) == (
        1,
        Decimal("1234.50"),
        DAY,
    )


@pytest.mark.parametrize(
    ("line", "reason", "detail"),
    [
        (order(1, "12,50"), "bad_number", "o_totalprice='12,50' is not a valid decimal"),
        (order(1, "1.234"), "bad_number", "o_totalprice='1.234' is not a valid decimal"),
        (order("x1"), "bad_number", "o_orderkey='x1' is not a valid identifier"),
        (order(""), "missing_key", "o_orderkey='' is not a valid identifier"),
        (order(1, ""), "missing_value", "o_totalprice='' is not a valid decimal"),
        (
            "1|7|O|1.00|1995-02-30|1-URGENT|Clerk#1|0|c|",
            "bad_date",
            "o_orderdate='1995-02-30' is not a valid date",
        ),
        (order(1, op="X"), "bad_op", "_op X is not one of I, U, D"),
        (
            order(1, op="U", at="yesterday"),
            "bad_changed_at",
            "_changed_at yesterday is not an ISO timestamp",
        ),
        ("1|7|O|", "wrong_field_count", "record does not fit the file's layout"),
    ],
)
def test_untypable_row_is_quarantined_with_reason(line: str, reason: str, detail: str) -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(9), line])))
    assert current(result) == [(9, Decimal("100.00"))]
    assert result.quarantine.select(lin.REASON, lin.DETAIL, lin.SOURCE_LINE).rows() == [
        (reason, detail, 2)
    ]
    assert result.quarantine[lin.SOURCE_FILE].to_list() == ["orders/1995-01-01/a.tbl"]
    assert result.balanced


def test_quarantine_keeps_raw_values() -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(1, "abc")])))
    assert result.quarantine.row(0, named=True)["o_totalprice"] == "abc"


def test_latest_change_wins_whatever_the_landing_order() -> None:
    result = refine(
        ORDERS,
        bronze(
            ("late-correction.tbl", [order(1, "300.00", op="U", at="2024-03-01T00:00:00Z")]),
            ("original.tbl", [order(1, "100.00")]),
            ("older-correction.tbl", [order(1, "200.00", op="U", at="2024-02-01T00:00:00+00:00")]),
        ),
    )
    assert current(result) == [(1, Decimal("300.00"))]
    assert result.total("superseded") == 2


def test_without_change_times_the_later_landing_wins() -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(1, "1.00")]), ("b.tbl", [order(1, "2.00")])))
    assert current(result) == [(1, Decimal("2.00"))]


def test_correction_and_delete_arriving_later_are_applied() -> None:
    result = refine(
        ORDERS,
        bronze(
            ("day.tbl", [order(1), order(2), order(3)]),
            (
                "fixes.tbl",
                [
                    order(2, "250.00", op="U", at="2024-03-01T00:00:00Z"),
                    "3|||||||||D|2024-03-01T00:00:00Z|",
                ],
            ),
        ),
    )
    assert current(result) == [(1, Decimal("100.00")), (2, Decimal("250.00"))]
    assert (result.total("deleted"), result.total("superseded"), result.total("quarantined")) == (
        1,
        3,
        0,
    )
    assert result.balanced


def test_delete_needs_only_the_key() -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(5)]), ("b.tbl", ["5|||||||||D||"])))
    assert result.silver.height == 0
    assert result.quarantine.height == 0


def test_redelivered_file_is_counted_once() -> None:
    lines = [order(1), order(2, "abc")]
    result = refine(ORDERS, bronze(("a.tbl", lines), ("a (copy).tbl", lines)))
    assert current(result) == [(1, Decimal("100.00"))]
    assert result.quarantine.height == 1
    assert (result.total("landed"), result.total("redelivered")) == (4, 2)
    assert result.balanced


def test_redelivery_does_not_undo_a_correction() -> None:
    original = [order(1, "100.00")]
    result = refine(
        ORDERS,
        bronze(("a.tbl", original), ("fix.tbl", [order(1, "150.00")]), ("a again.tbl", original)),
    )
    assert current(result) == [(1, Decimal("150.00"))]


def test_exact_duplicate_lines_become_one_row() -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(1), order(1)])))
    assert current(result) == [(1, Decimal("100.00"))]
    assert result.total("superseded") == 1


def test_outcomes_are_counted_per_business_date() -> None:
    days = pl.concat(
        [
            bronze(("a.tbl", [order(1), order(2, "x")]), day=DAY),
            bronze(
                ("b.tbl", [order(3, day=DAY + dt.timedelta(days=1))]),
                day=DAY + dt.timedelta(days=1),
            ),
        ]
    )
    result = refine(ORDERS, days)
    assert result.outcomes.select(lin.BUSINESS_DATE, "landed", "current", "quarantined").rows() == [
        (DAY, 2, 1, 1),
        (DAY + dt.timedelta(days=1), 1, 1, 0),
    ]


LINEITEM = entity_named("lineitem")
GOOD_LINE = {
    "l_quantity": "17.00",
    "l_discount": "0.04",
    "l_tax": "0.02",
    "l_returnflag": "N",
    "l_linestatus": "O",
    "l_shipdate": "1995-01-10",
    "l_commitdate": "1995-02-15",
    "l_receiptdate": "1995-01-20",
}


def lineitem_bronze(**changes: str) -> pl.DataFrame:
    values = {**GOOD_LINE, **changes}
    line = (
        f"1|2|3|1|{values['l_quantity']}|100.00|{values['l_discount']}|{values['l_tax']}"
        f"|{values['l_returnflag']}|{values['l_linestatus']}|{values['l_shipdate']}"
        f"|{values['l_commitdate']}|{values['l_receiptdate']}|NONE|AIR|c|"
        + ("D|2024-01-01T00:00:00Z|" if changes.get("op") == "D" else "")
    )
    landed = LandedFile(
        "lineitem/1995-01-01/l.tbl",
        "lineitem",
        DAY,
        "tbl",
        False,
        0,
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    ingested = pl.lit(dt.datetime(2024, 2, 1, tzinfo=dt.UTC), lin.UTC_TIMESTAMP)
    frame = read_landed_file(LINEITEM, landed, (line + "\n").encode())
    return frame.with_columns(ingested.alias(lin.INGESTED_AT))


def test_a_valid_line_breaks_no_rule() -> None:
    result = refine(LINEITEM, lineitem_bronze())
    assert (result.silver.height, result.quarantine.height) == (1, 0)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"l_quantity": "0.00"}, "l_quantity_positive"),
        ({"l_discount": "0.11"}, "l_discount_in_range"),
        ({"l_discount": "-0.01"}, "l_discount_in_range"),
        ({"l_tax": "0.09"}, "l_tax_in_range"),
        ({"l_returnflag": "X"}, "l_returnflag_known"),
        ({"l_linestatus": "P"}, "l_linestatus_known"),
        ({"l_shipdate": "1995-01-01", "l_receiptdate": "1995-01-05"}, "l_shipdate_after_orderdate"),
        ({"l_shipdate": "1995-06-01", "l_receiptdate": "1995-06-05"}, "l_shipdate_after_orderdate"),
        ({"l_commitdate": "1995-01-20"}, "l_commitdate_in_range"),
        ({"l_receiptdate": "1995-01-10"}, "l_receiptdate_in_range"),
    ],
)
def test_a_broken_business_rule_quarantines_the_row_under_its_name(
    changes: dict[str, str], rule: str
) -> None:
    result = refine(LINEITEM, lineitem_bronze(**changes))
    assert result.silver.height == 0
    assert result.quarantine.select(lin.REASON, lin.SOURCE_LINE).rows() == [(rule, 1)]
    assert result.balanced


def test_an_order_in_another_dates_folder_is_quarantined() -> None:
    result = refine(ORDERS, bronze(("a.tbl", [order(1, day=DAY + dt.timedelta(days=1))])))
    assert result.quarantine[lin.REASON].to_list() == ["o_orderdate_is_landing_date"]


def test_a_delete_is_not_judged_by_business_rules() -> None:
    result = refine(LINEITEM, lineitem_bronze(op="D", l_discount="", l_quantity=""))
    assert (result.quarantine.height, result.total("deleted")) == (0, 1)
