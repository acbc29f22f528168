"""Freshness policies fit each layer's cadence and follow the environment's settings."""

import datetime as dt

import pytest
from dagster._core.definitions.freshness import CronFreshnessPolicy, TimeWindowFreshnessPolicy

from data_platform import settings
from data_platform.automation import freshness
from data_platform.definitions import build_definitions


def policies() -> dict[str, object]:
    graph = build_definitions().resolve_asset_graph()
    return {node.key.to_user_string(): node.freshness_policy for node in graph.asset_nodes}


def fail_window(policy: object) -> dt.timedelta:
    assert isinstance(policy, TimeWindowFreshnessPolicy)
    return policy.fail_window.to_timedelta()


def test_daily_fed_assets_fail_after_a_day_and_dimensions_after_a_week() -> None:
    found = policies()
    assert fail_window(found["silver/orders"]) == dt.timedelta(hours=26)
    assert fail_window(found["gold/daily_revenue_by_nation"]) == dt.timedelta(hours=26)
    assert fail_window(found["gold/pricing_summary"]) == dt.timedelta(hours=26)
    assert fail_window(found["silver/customer"]) == dt.timedelta(days=8)
    assert found["bronze/orders"] is None
    assert found["quarantine/orders"] is None, "one freshness alert per silver step"
    layers = {name.split("/")[0] for name, policy in found.items() if policy is not None}
    assert layers == {"silver", "gold"}


def test_windows_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.FRESHNESS_FAIL_AFTER, "90s")
    monkeypatch.setenv(settings.FRESHNESS_WARN_AFTER, "1m")
    policy = policies()["silver/lineitem"]
    assert isinstance(policy, TimeWindowFreshnessPolicy)
    assert fail_window(policy) == dt.timedelta(seconds=90)
    assert policy.warn_window is not None
    assert policy.warn_window.to_timedelta() == dt.timedelta(minutes=1)


def test_a_deadline_cron_switches_to_a_cron_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.FRESHNESS_DEADLINE_CRON, "0 9 * * *")
    policy = policies()["gold/daily_revenue_by_nation"]
    assert isinstance(policy, CronFreshnessPolicy)
    assert policy.deadline_cron == "0 9 * * *"
    assert policy.lower_bound_delta == dt.timedelta(hours=24)


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
