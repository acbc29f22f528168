"""Slack alerts through the outbox, against a fake Slack Web API on 127.0.0.1.

Each tick is evaluated with a fresh sensor context: nothing is carried in memory from one tick to
the next, as after a daemon restart; all state is in the instance.
"""

import threading
import time
from collections.abc import Iterator

import dagster as dg
import pytest

from data_platform.alerts.outbox import Outbox
from data_platform.catalog.partitions import RANGE_END_TAG as RANGE_END
from data_platform.catalog.partitions import RANGE_START_TAG as RANGE_START
from data_platform.compat import FreshnessState, record_freshness_change, record_sensor_tick
from data_platform.definitions import build_definitions
from data_platform.resources.slack import SlackAlerts
from data_platform.sensors.alert_sensor import build_alert_sensor
from tests.fake_slack import FakeSlack

SILVER_ORDERS = dg.AssetKey(["silver", "orders"])


@pytest.fixture(scope="module")
def repository() -> dg.RepositoryDefinition:
    return build_definitions().get_repository_def()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


class Alerting:
    def __init__(
        self, instance: dg.DagsterInstance, repository: dg.RepositoryDefinition, slack: FakeSlack
    ) -> None:
        self.instance, self.repository, self.slack = instance, repository, slack
        self.sensor = build_alert_sensor()
        self.alert_on_warn = False

    def resource(self) -> SlackAlerts:
        return SlackAlerts(
            token="xoxb-test",
            channel="C0ALERTS",
            api_base_url=self.slack.base_url,
            ui_url="http://dagster.example.com",
            alert_on_warn=self.alert_on_warn,
            timeout_seconds=2,
        )

    def tick(self, resource: SlackAlerts | None = None) -> str:
        context = dg.build_sensor_context(
            instance=self.instance,
            repository_def=self.repository,
            resources={"slack": resource or self.resource()},
        )
        result = self.sensor(context)
        assert isinstance(result, dg.SkipReason)
        return result.skip_message or ""

    def check_fails(self, name: str, severity: dg.AssetCheckSeverity) -> None:
        self.instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=SILVER_ORDERS,
                check_name=name,
                passed=False,
                severity=severity,
                metadata={"rate": 0.62, "rows_landed": 100, "rows_quarantined": 62},
            )
        )

    def freshness(
        self, before: FreshnessState, after: FreshnessState, at: float | None = None
    ) -> None:
        moment = time.time() if at is None else at
        record_freshness_change(self.instance, SILVER_ORDERS, before, after, moment)

    def run_fails(self, days: tuple[str, str] | None = None) -> str:
        """A failed run; over the days [first, last] of a range run if given."""
        partitions = dg.DailyPartitionsDefinition("1998-01-01") if days else None

        @dg.asset(partitions_def=partitions)
        def exploding() -> None:
            raise RuntimeError("warehouse is locked by another writer")

        tags = {RANGE_START: days[0], RANGE_END: days[1]} if days else None
        result = dg.materialize(
            [exploding], instance=self.instance, raise_on_error=False, tags=tags
        )
        assert not result.success
        return result.run_id


@pytest.fixture
def alerting(
    instance: dg.DagsterInstance, repository: dg.RepositoryDefinition, slack: FakeSlack
) -> Alerting:
    alerting = Alerting(instance, repository, slack)
    alerting.freshness(FreshnessState.UNKNOWN, FreshnessState.PASS)
    assert "watching from now" in alerting.tick()
    return alerting


def test_without_a_token_nothing_is_sent_and_nothing_fails(
    instance: dg.DagsterInstance, repository: dg.RepositoryDefinition, slack: FakeSlack
) -> None:
    alerting = Alerting(instance, repository, slack)
    alerting.run_fails()
    assert "alerting is off" in alerting.tick(SlackAlerts())
    assert slack.messages == []
    assert Outbox.load(instance) is None


def test_a_failed_run_names_its_days(alerting: Alerting, slack: FakeSlack) -> None:
    """The landing sensor's run of one new day is a range of one day: it reads as that day."""
    alerting.run_fails(days=("1998-08-11", "1998-08-11"))
    alerting.run_fails(days=("1998-08-01", "1998-08-11"))
    alerting.tick()
    one_day, days = slack.texts()
    assert "[1998-08-11]`" in one_day
    assert "[1998-08-01…1998-08-11]`" in days


def test_what_happened_before_alerting_was_switched_on_is_not_sent(
    instance: dg.DagsterInstance, repository: dg.RepositoryDefinition, slack: FakeSlack
) -> None:
    alerting = Alerting(instance, repository, slack)
    alerting.run_fails()
    alerting.check_fails("contract", dg.AssetCheckSeverity.ERROR)
    alerting.tick()
    alerting.tick()
    assert slack.messages == []


def test_each_failure_is_one_message_naming_it_with_a_ui_link(
    alerting: Alerting, slack: FakeSlack
) -> None:
    alerting.freshness(FreshnessState.PASS, FreshnessState.FAIL)
    alerting.check_fails("quarantine_rate", dg.AssetCheckSeverity.ERROR)
    alerting.check_fails("reconciliation", dg.AssetCheckSeverity.WARN)
    run_id = alerting.run_fails()

    assert "3 new alerts, 3 delivered, 0 waiting" in alerting.tick()
    stale, check, run = slack.texts()
    assert "*Stale data*: `silver/orders`" in stale
    assert "expected within 1 day, 2:00:00" in stale
    assert "<http://dagster.example.com/assets/silver/orders|Open in Dagster>" in stale
    assert "`silver/orders · quarantine_rate (ERROR)`" in check
    assert "rate 0.62, rows_landed 100, rows_quarantined 62" in check
    assert "/assets/silver/orders?view=checks" in check
    assert "*Run failed*" in run
    assert "RuntimeError: warehouse is locked by another writer" in run
    assert f"http://dagster.example.com/runs/{run_id}" in run

    alerting.tick()
    assert len(slack.messages) == 3, "nothing is sent twice"

    alerting.freshness(FreshnessState.FAIL, FreshnessState.PASS)
    alerting.tick()
    assert len(slack.messages) == 4
    assert "*Fresh again*: `silver/orders`" in slack.texts()[-1]


def test_a_check_failing_after_a_tick_saw_it_planned_is_alerted(
    alerting: Alerting, slack: FakeSlack
) -> None:
    """A run records a check as planned when its step starts, and its outcome later in the same
    record: a tick between the two must not step past it."""
    planned, judge = threading.Event(), threading.Event()

    @dg.asset(key=SILVER_ORDERS, check_specs=[dg.AssetCheckSpec("contract", asset=SILVER_ORDERS)])
    def orders() -> Iterator[dg.Output[None] | dg.AssetCheckResult]:
        yield dg.Output(None)
        planned.set()
        judge.wait(60)
        yield dg.AssetCheckResult(
            check_name="contract", passed=False, severity=dg.AssetCheckSeverity.ERROR
        )

    run = threading.Thread(
        target=dg.materialize, args=([orders],), kwargs={"instance": alerting.instance}
    )
    run.start()
    assert planned.wait(60)
    assert "0 new alerts" in alerting.tick()
    judge.set()
    run.join(60)
    assert "1 new alerts, 1 delivered" in alerting.tick()
    (message,) = slack.texts()
    assert "`silver/orders · contract (ERROR)`" in message
    alerting.tick()
    assert len(slack.texts()) == 1


def test_a_recovery_at_the_same_instant_as_its_stale_alert_is_sent_too(
    alerting: Alerting, slack: FakeSlack
) -> None:
    instant = time.time()
    alerting.freshness(FreshnessState.PASS, FreshnessState.FAIL, at=instant)
    alerting.tick()
    alerting.freshness(FreshnessState.FAIL, FreshnessState.PASS, at=instant)
    alerting.tick()
    assert [text.split("*")[1] for text in slack.texts()] == ["Stale data", "Fresh again"]


def test_a_stale_spell_between_two_ticks_is_alerted_and_its_end_too(
    alerting: Alerting, slack: FakeSlack
) -> None:
    instant = time.time()
    alerting.freshness(FreshnessState.PASS, FreshnessState.FAIL, at=instant)
    alerting.freshness(FreshnessState.FAIL, FreshnessState.PASS, at=instant)
    assert "2 new alerts, 2 delivered, 0 waiting" in alerting.tick()
    assert [text.split("*")[1] for text in slack.texts()] == ["Stale data", "Fresh again"]
    assert len(set(slack.alert_ids())) == 2


def test_warn_failures_are_sent_only_when_asked_for(alerting: Alerting, slack: FakeSlack) -> None:
    alerting.alert_on_warn = True
    alerting.check_fails("reconciliation", dg.AssetCheckSeverity.WARN)
    alerting.tick()
    assert ["reconciliation (WARN)" in text for text in slack.texts()] == [True]


def test_alerts_wait_while_slack_is_down_and_arrive_once_when_it_is_back(
    alerting: Alerting, slack: FakeSlack
) -> None:
    slack.stop()
    alerting.freshness(FreshnessState.PASS, FreshnessState.FAIL)
    alerting.run_fails()
    summary = alerting.tick()
    assert "2 new alerts, 0 delivered, 2 waiting" in summary
    assert "Slack:" in summary
    alerting.check_fails("contract", dg.AssetCheckSeverity.ERROR)
    assert "1 new alerts, 0 delivered, 3 waiting" in alerting.tick()

    slack.start()
    assert "0 new alerts, 3 delivered, 0 waiting" in alerting.tick()
    alerting.tick()
    assert len(slack.messages) == 3
    assert len(set(slack.alert_ids())) == 3
    assert [t.split("*")[1] for t in slack.texts()] == ["Stale data", "Run failed", "Check failed"]


def test_a_crash_between_posting_and_recording_neither_repeats_nor_loses_the_alert(
    alerting: Alerting, slack: FakeSlack, instance: dg.DagsterInstance
) -> None:
    slack.stop()
    alerting.run_fails()
    alerting.check_fails("contract", dg.AssetCheckSeverity.ERROR)
    alerting.tick()
    slack.start()
    # the process dies right after Slack took the first alert, before the outbox recorded it
    outbox = Outbox.load(instance)
    assert outbox is not None
    posted, unposted = outbox.pending
    posted.attempted = unposted.attempted = True
    outbox.save(instance)
    alerting.resource().post(posted.alert)

    alerting.tick()
    assert sorted(slack.alert_ids()) == sorted([posted.alert.id, unposted.alert.id])


def sensor_tick(instance: dg.DagsterInstance, name: str, error: str | None) -> None:
    """A tick of a running sensor, as the daemon records it (failed when `error` is given)."""
    record_sensor_tick(instance, "data_platform", name, error)


def test_a_failing_sensor_is_one_message_until_it_recovers_and_fails_again(
    alerting: Alerting, slack: FakeSlack, instance: dg.DagsterInstance
) -> None:
    for _ in range(3):
        sensor_tick(instance, "landing_sensor", "OSError: landing zone unreachable")
        alerting.tick()
    (message,) = slack.texts()
    assert "*Sensor failing*: `landing_sensor`" in message
    assert "OSError: landing zone unreachable" in message
    assert "/locations/data_platform/sensors/landing_sensor|" in message

    sensor_tick(instance, "landing_sensor", None)
    alerting.tick()
    sensor_tick(instance, "landing_sensor", "OSError: landing zone unreachable")
    alerting.tick()
    assert len(slack.texts()) == 2
