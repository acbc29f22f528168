"""Bronze text rows to a dimension's history: validity intervals by `_changed_at`, deletes."""

import datetime as dt

import polars as pl

from data_platform.contracts import entity_named
from data_platform.contracts import history as hist
from data_platform.contracts import lineage as lin
from data_platform.landing.formats import read_landed_file
from data_platform.landing.layout import LandedFile
from data_platform.transforms.history import HistoryResult, refine_history

CUSTOMER = entity_named("customer")
BEGINNING, END = hist.BEGINNING_OF_TIME, hist.END_OF_TIME


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def customer(key: int, nation: int, op: str = "", changed_at: str = "") -> str:
    return f"{key}|Customer#{key}|addr|{nation}|phone|10.00|BUILDING|c|{op}|{changed_at}|"


def delete(key: int, changed_at: str) -> str:
    return f"{key}||||||||D|{changed_at}|"


def bronze(*files: tuple[str, list[str]]) -> pl.DataFrame:
    """Extracts landed in order, a day apart, each in its own date folder, as bronze rows."""
    frames = []
    for number, (name, lines) in enumerate(files):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=number)
        content = ("\n".join(lines) + "\n").encode()
        landed_at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        path = f"customer/{day}/{name}"
        landed = LandedFile(path, "customer", day, "tbl", False, 0, landed_at)
        frames.append(read_landed_file(CUSTOMER, landed, content))
    ingested = pl.lit(dt.datetime(2024, 2, 1, tzinfo=dt.UTC), lin.UTC_TIMESTAMP)
    return pl.concat(frames).with_columns(ingested.alias(lin.INGESTED_AT))


def intervals(result: HistoryResult) -> list[tuple[object, ...]]:
    columns = ["c_custkey", "c_nationkey", hist.VALID_FROM, hist.VALID_TO, hist.IS_CURRENT]
    return result.history.select(columns).rows()


def test_a_changed_attribute_closes_the_old_version_when_the_new_one_takes_effect() -> None:
    result = refine_history(
        CUSTOMER,
        bronze(
            ("first.tbl", [customer(1, 7), customer(2, 8)]),
            ("move.tbl", [customer(1, 8, "U", "2024-05-01T10:00:00Z")]),
        ),
    )
    assert intervals(result) == [
        (1, 7, BEGINNING, at("2024-05-01T10:00:00"), False),
        (1, 8, at("2024-05-01T10:00:00"), END, True),
        (2, 8, BEGINNING, END, True),
    ]
    assert result.history.schema == hist.history_schema(CUSTOMER)
    assert result.live_keys["c_custkey"].to_list() == [1, 2]


def test_a_late_correction_takes_its_place_by_changed_at_not_by_arrival() -> None:
    result = refine_history(
        CUSTOMER,
        bronze(
            ("first.tbl", [customer(1, 7, "I", "2024-01-01T00:00:00Z")]),
            ("june.tbl", [customer(1, 9, "U", "2024-06-01T00:00:00Z")]),
            # arrives last, changed in between
            ("march.tbl", [customer(1, 8, "U", "2024-03-01T00:00:00Z")]),
        ),
    )
    assert intervals(result) == [
        (1, 7, BEGINNING, at("2024-03-01T00:00:00"), False),
        (1, 8, at("2024-03-01T00:00:00"), at("2024-06-01T00:00:00"), False),
        (1, 9, at("2024-06-01T00:00:00"), END, True),
    ]


def test_a_delete_closes_the_key_and_leaves_it_no_current_version() -> None:
    result = refine_history(
        CUSTOMER,
        bronze(
            ("first.tbl", [customer(1, 7), customer(2, 8)]),
            ("gone.tbl", [delete(1, "2024-04-01T00:00:00Z")]),
        ),
    )
    assert intervals(result) == [
        (1, 7, BEGINNING, at("2024-04-01T00:00:00"), False),
        (2, 8, BEGINNING, END, True),
    ]
    assert result.live_keys["c_custkey"].to_list() == [2]


def test_a_key_deleted_then_landed_again_has_a_gap_between_its_versions() -> None:
    result = refine_history(
        CUSTOMER,
        bronze(
            ("first.tbl", [customer(1, 7)]),
            ("gone.tbl", [delete(1, "2024-04-01T00:00:00Z")]),
            ("back.tbl", [customer(1, 9, "I", "2024-05-01T00:00:00Z")]),
        ),
    )
    assert intervals(result) == [
        (1, 7, BEGINNING, at("2024-04-01T00:00:00"), False),
        (1, 9, at("2024-05-01T00:00:00"), END, True),
    ]


def test_a_re_extract_of_the_same_values_extends_the_version() -> None:
    result = refine_history(
        CUSTOMER,
        bronze(
            ("monday.tbl", [customer(1, 7)]),
            ("tuesday.tbl", [customer(1, 7)]),
            # a version without _changed_at takes effect on its extract date (2024-01-03)
            ("wednesday.tbl", [customer(1, 8)]),
        ),
    )
    assert intervals(result) == [
        (1, 7, BEGINNING, at("2024-01-03T00:00:00"), False),
        (1, 8, at("2024-01-03T00:00:00"), END, True),
    ]
    assert result.history[lin.SOURCE_FILE].to_list() == [
        "customer/2024-01-01/monday.tbl",
        "customer/2024-01-03/wednesday.tbl",
    ]


def test_redelivered_and_quarantined_rows_make_no_version() -> None:
    result = refine_history(
        CUSTOMER,
        bronze(
            ("first.tbl", [customer(1, 7)]),
            ("bad.tbl", [customer(1, 8).replace("10.00", "ten")]),
            ("copy.tbl", [customer(1, 7)]),
        ),
    )
    assert intervals(result) == [(1, 7, BEGINNING, END, True)]
