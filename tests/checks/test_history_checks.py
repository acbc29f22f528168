"""The history's blocking checks: overlapping intervals and keys without one current version."""

import datetime as dt

import dagster as dg
import polars as pl

from data_platform.checks.history import intervals_do_not_overlap, one_current_version_per_live_key
from data_platform.contracts import entity_named
from data_platform.contracts import history as hist

CUSTOMER = entity_named("customer")
KEY = dg.AssetKey(["silver", "customer_history"])
MAY, JUNE = dt.datetime(2024, 5, 1, tzinfo=dt.UTC), dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


def versions(*rows: tuple[int, dt.datetime, dt.datetime, bool]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "c_custkey": pl.Int64,
            hist.VALID_FROM: pl.Datetime("us", "UTC"),
            hist.VALID_TO: pl.Datetime("us", "UTC"),
            hist.IS_CURRENT: pl.Boolean,
        },
        orient="row",
    )


def live(*keys: int) -> pl.DataFrame:
    return pl.DataFrame({"c_custkey": list(keys)}, schema={"c_custkey": pl.Int64})


def test_contiguous_intervals_and_one_current_version_pass() -> None:
    good = versions(
        (1, hist.BEGINNING_OF_TIME, MAY, False),
        (1, MAY, hist.END_OF_TIME, True),
        (2, hist.BEGINNING_OF_TIME, JUNE, False),
    )
    assert intervals_do_not_overlap(CUSTOMER, KEY, good).passed
    assert one_current_version_per_live_key(CUSTOMER, KEY, good, live(1)).passed


def test_overlapping_versions_of_a_key_fail() -> None:
    bad = versions((1, hist.BEGINNING_OF_TIME, JUNE, False), (1, MAY, hist.END_OF_TIME, True))
    result = intervals_do_not_overlap(CUSTOMER, KEY, bad)
    assert not result.passed
    assert result.metadata["bad_versions"] == dg.MetadataValue.int(1)


def test_a_live_key_without_a_current_version_and_a_deleted_one_with_one_fail() -> None:
    history = versions(
        (1, hist.BEGINNING_OF_TIME, MAY, False),
        (2, hist.BEGINNING_OF_TIME, hist.END_OF_TIME, True),
    )
    result = one_current_version_per_live_key(CUSTOMER, KEY, history, live(1))
    assert not result.passed
    assert result.metadata["keys"] == dg.MetadataValue.int(2)
