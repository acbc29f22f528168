"""Freshness policies fit each layer's cadence and follow the environment's settings."""

import datetime as dt

import dagster as dg
import pytest

from data_platform import settings
from data_platform.automation import freshness
from data_platform.definitions import build_definitions


def policies() -> dict[str, object]:
    graph = build_definitions().resolve_asset_graph()
    return {node.key.to_user_string(): node.freshness_policy for node in graph.asset_nodes}


def window(fail: dt.timedelta, warn: dt.timedelta | None = None) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(fail_window=fail, warn_window=warn)


def test_daily_fed_assets_fail_after_a_day_and_dimensions_after_a_week() -> None:
    found = policies()
    day = window(dt.timedelta(hours=26))
    assert found["silver/orders"] == day
    assert found["gold/daily_revenue_by_nation"] == day
    assert found["gold/pricing_summary"] == day
    assert found["silver/customer"] == window(dt.timedelta(days=8))
    assert found["bronze/orders"] is None
    assert found["quarantine/orders"] is None, "one freshness alert per silver step"
    layers = {name.split("/")[0] for name, policy in found.items() if policy is not None}
    assert layers == {"silver", "gold"}


def test_windows_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.FRESHNESS_FAIL_AFTER, "90s")
    monkeypatch.setenv(settings.FRESHNESS_WARN_AFTER, "1m")
    policy = policies()["silver/lineitem"]
    assert policy == window(dt.timedelta(seconds=90), dt.timedelta(minutes=1))


def test_a_deadline_cron_switches_to_a_cron_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.FRESHNESS_DEADLINE_CRON, "0 9 * * *")
    policy = policies()["gold/daily_revenue_by_nation"]
    assert policy == dg.FreshnessPolicy.cron(
        deadline_cron="0 9 * * *", lower_bound_delta=dt.timedelta(hours=24), timezone="UTC"
    )


@pytest.mark.parametrize(
    ("fail", "warn", "message"),
    [("26x", "", "not a duration"), ("1h", "2h", "must be shorter")],
)
def test_a_wrong_setting_stops_loading_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, fail: str, warn: str, message: str
) -> None:
    monkeypatch.setenv(settings.FRESHNESS_FAIL_AFTER, fail)
    monkeypatch.setenv(settings.FRESHNESS_WARN_AFTER, warn)
    with pytest.raises(ValueError, match=message):
        freshness.daily_policy()
