"""A transient fault is retried with backoff until the step succeeds; a data error is not."""

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from data_platform import settings
from data_platform.automation.retries import final_unless_transient, is_transient
from data_platform.definitions import build_definitions
from data_platform.profiles import common
from data_platform.simulate.landing_writer import LandingWriter
from tests.conftest import Bucket, layer_assets, platform_resources, tbl_frame, tbl_orders
from tests.faults import outage

DAYS = [dt.date(1995, 1, d) for d in (1, 2, 3)]
OUTAGE_SECONDS = 30


def test_the_object_store_down_for_30s_in_a_range_run_is_ridden_out(
    s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Landing zone and lake on S3; the store goes down when silver starts its commit, for
    longer than delta-rs's own retries last (ten in about two seconds). s3fs, reading the landing
    zone, rides out such an outage by itself."""
    for day in DAYS:
        keys = (day.day * 10 + 1, day.day * 10 + 2)
        orders = tbl_frame("orders", tbl_orders(*keys, day=day))
        LandingWriter(s3_bucket.url("landing")).land("orders", day, orders, "tbl")
    monkeypatch.setenv(settings.STEP_RETRY_DELAY, "8")  # 8 + 16 + 32 s: outlasts 30 s
    monkeypatch.setenv(settings.LANDING_DIR, s3_bucket.url("landing"))
    monkeypatch.setenv(settings.LAKE_DIR, s3_bucket.url("lake"))
    with outage(s3_bucket.endpoint, r"lake/silver/orders", OUTAGE_SECONDS) as store:
        monkeypatch.setenv("AWS_ENDPOINT_URL", store.endpoint)
        assets = [a for a in build_definitions().assets if isinstance(a, dg.AssetsDefinition)]
        resources = {
            **platform_resources(tmp_path),
            "landing_zone": common.landing_zone(),
            "lake_io_manager": common.lake_io_manager(),
            "lake": common.lake(),
        }
        started = time.monotonic()
        result = dg.materialize(
            layer_assets(assets, "orders"),
            resources=resources,
            tags={
                "dagster/asset_partition_range_start": DAYS[0].isoformat(),
                "dagster/asset_partition_range_end": DAYS[-1].isoformat(),
            },
        )
        took = time.monotonic() - started
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_bucket.endpoint)
    assert store.happened
    assert result.success
    assert took > OUTAGE_SECONDS
    retried = {e.step_key for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"}
    assert retried == {"silver_orders"}
    with dg.build_resources({"lake": common.lake()}) as built:
        silver = built.lake.scan(dg.AssetKey(["silver", "orders"])).collect()
    assert sorted(silver["o_orderkey"]) == [11, 12, 21, 22, 31, 32]
    assert set(silver["o_totalprice"]) == {Decimal("100.00")}


def test_an_error_that_would_recur_is_final_and_keeps_its_cause() -> None:
    with pytest.raises(dg.Failure) as failure, final_unless_transient():
        raise ValueError("rows outside the run's window")
    assert not failure.value.allow_retries
    assert isinstance(failure.value.__cause__, ValueError)


def test_a_failed_dbt_test_is_final_and_a_held_warehouse_keeps_its_own_retries() -> None:
    with pytest.raises(dg.Failure) as failure, final_unless_transient():
        raise dg.Failure(description="Failure in test not_null_daily_revenue_by_nation_nation")
    assert not failure.value.allow_retries
    with pytest.raises(dg.RetryRequested), final_unless_transient():
        raise dg.RetryRequested(max_retries=10, seconds_to_wait=30)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (
            OSError("Generic S3 error: Error performing GET ... after 10 retries, max_retries: 10"),
            True,
        ),
        (ConnectionResetError("reset by peer"), True),
        (OSError("Generic S3 error: Received redirect without LOCATION, 503 Slow Down"), True),
        (RuntimeError("dbt: Failure in test relationships_stg_lineitem_l_orderkey"), False),
        (ValueError("rows outside the partition"), False),
    ],
)
def test_what_counts_as_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient
    wrapped = RuntimeError("handling output failed")
    wrapped.__cause__ = error
    assert is_transient(wrapped) is transient
