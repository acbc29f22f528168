"""The platform as a user runs it: `dagster dev` with its daemon, files landing, gold updating by
itself, and Slack (a fake Web API on 127.0.0.1) hearing of each failure exactly once.

One platform serves the whole module, and its tests build on one another in order: the first
load, a new day, a correction, a hostile day (an orphan, an unknown column, misfit files), a
failed check, a failed run across a Slack outage and a daemon restart, stale dimensions and
their recovery.

How long the platform took is recorded, not asserted (a loaded machine is slower, and a timed test
fails for reasons that are not bugs): each test records its figure with `record_property`, and
`tests/conftest.py` prints them at the end of the session. The `until` timeouts only stop a
test that hangs.
"""

import contextlib
import datetime as dt
import fcntl
import json
import shutil
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from data_platform.alerts.outbox import KEY as OUTBOX_KEY
from data_platform.assets.quality import COLUMNS as QUALITY_TABLES
from data_platform.catalog.keys import LANDING_ZONE
from data_platform.catalog.partitions import RANGE_END_TAG as RANGE_END
from data_platform.catalog.partitions import RANGE_START_TAG as RANGE_START
from data_platform.contracts import ENTITIES, entity_named
from data_platform.definitions import build_definitions
from data_platform.simulate.__main__ import main as simulate
from data_platform.simulate.oracle import expected, mismatches
from tests.conftest import gold_keys, tbl_line, tbl_order
from tests.fake_slack import FakeSlack
from tests.platform_server import DagsterDev, day_in_gold, materialized_after, until

pytestmark = pytest.mark.slow

DAILY_GOLD = dg.AssetKey(["gold", "daily_revenue_by_nation"])
QUALITY = list(QUALITY_TABLES)
DIMENSIONS = [entity.name for entity in ENTITIES if not entity.partitioned]
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


class Platform:
    def __init__(self, root: Path, slack: FakeSlack) -> None:
        self.root, self.slack = root, slack
        self.dev = DagsterDev(
            root,
            {
                "PLATFORM_SENSOR_INTERVAL_SECONDS": "3",
                "PLATFORM_AUTOMATION_INTERVAL_SECONDS": "3",
                "PLATFORM_ALERT_INTERVAL_SECONDS": "3",
                "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5",
                # dimensions go stale quickly here; the daily-fed assets stay fresh
                "PLATFORM_FRESHNESS_DIMENSIONS_FAIL_AFTER": "75s",
                "PLATFORM_FRESHNESS_FAIL_AFTER": "2h",
                # TPC-H's dates end in 1998: the drop-arrival check, which runs with silver's
                # materializations (and its schedule, off here), would add a check alert to
                # those counted here; no drop is expected after 1998 in these tests
                "PLATFORM_DROP_DEADLINE_CRON": "",
                "PLATFORM_DROP_LAG_DAYS": "20000",
                "SLACK_BOT_TOKEN": "xoxb-e2e",
                "SLACK_CHANNEL": "C0ALERTS",
                "SLACK_API_BASE_URL": slack.base_url,
                "PLATFORM_UI_URL": "http://dagster.example.com",
                # a gold build gives up on a warehouse file a BI client holds after 5 s, and is
                # not run again (it waits for the platform's other gold builds as it would anyway)
                "PLATFORM_WAREHOUSE_READER_TIMEOUT_SECONDS": "5",
                "PLATFORM_WAREHOUSE_BUSY_RETRIES": "0",
            },
        )
        self.landing, self.warehouse = self.dev.landing, self.dev.warehouse

    def instance(self) -> dg.DagsterInstance:
        return self.dev.instance()

    def drop(self, relative: str, content: str) -> None:
        """Land one file atomically, as the simulator does (hidden name, then rename)."""
        path = self.landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        hidden = path.parent / f".{path.name}.part"
        hidden.write_text(content)
        hidden.rename(path)

    def runs_finished(self) -> bool:
        return not self.instance().get_runs(filters=dg.RunsFilter(statuses=ACTIVE), limit=1)

    def idle(self) -> bool:
        """No run, and no backfill left to submit runs."""
        backfills = self.instance().get_backfills(limit=20)
        return self.runs_finished() and all(b.status.value != "REQUESTED" for b in backfills)

    @contextlib.contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A copy of the warehouse: a reader holding the file itself would lock dbt out."""
        copy = self.root / "warehouse-copy.duckdb"
        shutil.copy(self.warehouse, copy)
        # committed rows may still be in the write-ahead log, not yet checkpointed into the file
        wal, copied_wal = Path(f"{self.warehouse}.wal"), Path(f"{copy}.wal")
        copied_wal.unlink(missing_ok=True)
        if wal.exists():
            shutil.copy(wal, copied_wal)
        with duckdb.connect(str(copy), read_only=True) as connection:
            yield connection

    def gold(self, sql: str) -> list[tuple[object, ...]]:
        with self.reading() as connection:
            return connection.sql(sql).fetchall()

    def gold_day(self, day: str) -> list[tuple[object, ...]]:
        return self.gold(
            "select nation, order_count, revenue from gold.daily_revenue_by_nation "
            f"where order_date = '{day}' order by nation"
        )

    def materialized_after(self, key: dg.AssetKey, since: float, partition: str | None) -> float:
        return materialized_after(self.instance(), key, since, partition)

    def outbox(self) -> dict[str, object]:
        raw = self.instance().run_storage.get_cursor_values({OUTBOX_KEY}).get(OUTBOX_KEY)
        return json.loads(raw) if raw else {}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    slack = FakeSlack().start()
    platform = Platform(tmp_path_factory.mktemp("platform"), slack)
    platform.dev.start()
    try:
        until(platform.outbox, timeout=120, why="the alert sensor's first tick")
        yield platform
    finally:
        platform.dev.stop()
        slack.stop()


@pytest.fixture(scope="module")
def oracle() -> dict[str, tuple[list[str], list[tuple[str, ...]]]]:
    return expected(0.01)


def customer_nation(platform: Platform, customer: int) -> str:
    rows = platform.gold(
        f"select nation from gold.customer_lifetime_value where c_custkey = {customer}"
    )
    return str(rows[0][0])


def test_the_whole_history_landed_at_once_reaches_correct_gold_in_a_few_runs(
    platform: Platform,
    oracle: dict[str, tuple[list[str], list[tuple[str, ...]]]],
    record_property: Callable[[str, object], None],
) -> None:
    staging = platform.root / "staging"
    assert simulate(["--sf", "0.01", "--out", str(staging), "--formats", "tbl,csv,parquet"]) == 0
    landed = time.time()
    for entity in staging.iterdir():
        entity.rename(platform.landing / entity.name)

    reports = gold_keys(build_definitions(), daily=False)

    def correct() -> bool:
        # the data, once no run is left: a backfill is marked complete only on the backfill
        # daemon's next pass, which is bookkeeping, not data
        if not platform.runs_finished() or not all(
            platform.materialized_after(k, landed, None) for k in reports
        ):
            return False
        with platform.reading() as connection:
            return mismatches(connection, oracle) == []

    until(correct, timeout=1200, every=2, why="gold equal to the TPC-H oracle")
    record_property("first_load_seconds", round(time.time() - landed, 1))

    # the quality history follows the runs that loaded the days (automation, a tick after)
    def settled() -> bool:
        measured = all(platform.materialized_after(k, landed, None) for k in QUALITY)
        return measured and platform.idle()

    until(settled, timeout=600, why="the quality history, and the backfills marked complete")
    runs = platform.instance().get_runs(
        filters=dg.RunsFilter(created_after=dt.datetime.fromtimestamp(landed, dt.UTC))
    )
    record_property("first_load_runs", len(runs))
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    assert len(runs) <= 12, "a few range runs, not a run per day"


def partitions_of(run: dg.DagsterRun) -> tuple[str | None, str | None]:
    """The first and last day a run targets; (None, None) for an unpartitioned run."""
    tags = run.tags
    if "dagster/partition" in tags:
        return tags["dagster/partition"], tags["dagster/partition"]
    return tags.get(RANGE_START), tags.get(RANGE_END)


def land_day(platform: Platform, day: str, order: int, customer: int, price: str) -> None:
    platform.drop(f"orders/{day}/late_{order}.tbl", tbl_order(order, day, customer=customer) + "\n")
    platform.drop(
        f"lineitem/{day}/late_{order}.tbl",
        tbl_line(order, day, price=price, discount="0.05") + "\n",
    )


def test_one_new_day_reaches_gold_by_itself_in_seconds(
    platform: Platform, record_property: Callable[[str, object], None]
) -> None:
    nation = customer_nation(platform, 1)
    landed = time.time()
    land_day(platform, "1998-08-10", 900_001, customer=1, price="100.00")

    done = day_in_gold(platform, "1998-08-10", landed, why="gold for the new day")
    record_property("new_day_seconds", round(done - landed, 1))
    assert platform.gold_day("1998-08-10") == [(nation, 1, Decimal("95.0000"))]
    # one run takes the day from its files to its gold (the landing sensor's)
    builders = {
        key.to_user_string(): built_by(platform, key, "1998-08-10", landed)
        for key in (dg.AssetKey(["bronze", "orders"]), DAILY_GOLD)
    }
    assert len(set(builders.values())) == 1, builders
    runs = platform.instance().get_runs(
        filters=dg.RunsFilter(created_after=dt.datetime.fromtimestamp(landed, dt.UTC))
    )
    # runs for that day (bronze; silver and its gold day) and the reports, not a history rebuild
    assert {partitions_of(run) for run in runs} <= {("1998-08-10", "1998-08-10"), (None, None)}


def built_by(platform: Platform, key: dg.AssetKey, day: str, since: float) -> str:
    """The run that last materialized `day` of `key` after `since`."""
    records = platform.instance().fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day], after_timestamp=since),
        limit=1,
    )
    return records.records[0].run_id


def test_a_correction_in_an_old_dates_folder_updates_that_days_gold(
    platform: Platform, record_property: Callable[[str, object], None]
) -> None:
    nation = customer_nation(platform, 1)
    before = {row[0]: row for row in platform.gold_day("1995-03-15")}
    landed = time.time()
    land_day(platform, "1995-03-15", 900_002, customer=1, price="200.00")

    done = day_in_gold(platform, "1995-03-15", landed, why="gold for the corrected day")
    record_property("old_date_correction_seconds", round(done - landed, 1))
    after = {row[0]: row for row in platform.gold_day("1995-03-15")}
    count, revenue = before.get(nation, (nation, 0, Decimal(0)))[1:]
    assert after[nation] == (nation, int(str(count)) + 1, Decimal(str(revenue)) + Decimal("190"))
    assert {k: v for k, v in after.items() if k != nation} == {
        k: v for k, v in before.items() if k != nation
    }


def test_a_hostile_day_reaches_gold_for_its_valid_rows_with_no_failed_run(
    platform: Platform, record_property: Callable[[str, object], None]
) -> None:
    """An orphaned line (its order never lands), an order in a CSV with a column the contract
    does not know, and two misfit files: the day's gold holds the valid order, no run fails,
    nothing landed is dropped, and each oddity is reported where an operator looks."""
    day = "1998-08-14"
    nation = customer_nation(platform, 1)
    landed = time.time()
    header = ",".join([*entity_named("orders").column_names, "sales_channel"])
    order = tbl_order(900_004, day, customer=1).split("|")[:9]
    platform.drop(f"orders/{day}/web.csv", f"{header}\n{','.join([*order, 'web'])}\n")
    lines = [tbl_line(900_004, day, price="100.00"), tbl_line(900_005, day, price="999.00")]
    platform.drop(f"lineitem/{day}/lines.tbl", "".join(f"{line}\n" for line in lines))
    platform.drop("stray_report.txt", "not a delivery\n")
    platform.drop(f"invoices/{day}/i.tbl", "1|2|3|\n")

    done = day_in_gold(platform, day, landed, why="gold for the hostile day")
    record_property("hostile_day_seconds", round(done - landed, 1))
    assert platform.gold_day(day) == [(nation, 1, Decimal("95.0000"))]
    runs = platform.instance().get_runs(
        filters=dg.RunsFilter(created_after=dt.datetime.fromtimestamp(landed, dt.UTC))
    )
    assert runs
    assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
    # the orphan is kept in silver, and its relation check warns about it
    lake = platform.root / "lake"
    silver = pl.read_delta(str(lake / "silver" / "lineitem"))
    assert silver.filter(pl.col("l_orderkey") == 900_005).height == 1
    orphans = latest_check(platform, dg.AssetKey(["silver", "lineitem"]), "orders_exists", day)
    assert (orphans.passed, orphans.severity) == (False, dg.AssetCheckSeverity.WARN)
    # the unknown column is kept in bronze, and its check names it with the file
    bronze = pl.read_delta(str(lake / "bronze" / "orders")).filter(
        pl.col("_source_file") == f"orders/{day}/web.csv"
    )
    assert "sales_channel" in bronze["_extra_columns"].item()
    drift = latest_check(platform, dg.AssetKey(["bronze", "orders"]), "known_columns", day)
    assert not drift.passed
    # the misfits are in the landing zone's observation, with their reasons
    observed = platform.instance().fetch_observations(LANDING_ZONE, limit=1).records
    table = observed[0].asset_observation.metadata["misfits"].value  # type: ignore[union-attr]
    reasons = {r.data["file"]: r.data["reason"] for r in table.records}  # type: ignore[attr-defined]
    assert {"stray_report.txt", f"invoices/{day}/i.tbl"} <= set(reasons)


def latest_check(
    platform: Platform, asset: dg.AssetKey, name: str, day: str
) -> dg.AssetCheckEvaluation:
    """The newest evaluation of a check recorded by a run of `day` (or by any run, for a check
    recorded once per run)."""
    records = platform.instance().get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
        limit=500,
        ascending=False,
    )
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data  # type: ignore[union-attr]
        if (
            isinstance(evaluation, dg.AssetCheckEvaluation)
            and evaluation.asset_key == asset
            and evaluation.check_name == name
            and evaluation.partition in (day, None)
        ):
            return evaluation
    raise AssertionError(f"no evaluation of {asset.to_user_string()} {name}")


def runs_since(platform: Platform, since: float) -> list[str]:
    """What each run since `since` was, to tell from a failure message where a repeat came from."""
    runs = platform.instance().get_runs(
        filters=dg.RunsFilter(created_after=dt.datetime.fromtimestamp(since, dt.UTC))
    )
    described = []
    for run in runs:
        selection = sorted(k.to_user_string() for k in run.asset_selection or ())
        origin = {
            k: v for k, v in run.tags.items() if k.startswith("dagster/") and "partition" not in k
        }
        described.append(
            f"{run.run_id[:8]} {run.status.value} {partitions_of(run)} {selection} {origin}"
        )
    return described


def messages(platform: Platform, kind: str) -> list[str]:
    return [text for text in platform.slack.texts() if f"*{kind}*" in text]


def test_a_failed_error_check_is_one_slack_message(platform: Platform) -> None:
    landed = time.time()
    platform.drop("orders/1998-08-12/broken.tbl", "not|a|valid|order\n" * 20)

    until(lambda: messages(platform, "Check failed"), timeout=600, why="a check alert")
    time.sleep(6)  # a few more alert ticks: nothing more may arrive
    alerts = messages(platform, "Check failed")
    assert len(alerts) == 1, (alerts, platform.slack.alert_ids(), runs_since(platform, landed))
    (alert,) = alerts
    assert "`silver/orders · quarantine_rate (ERROR)`" in alert
    assert "rows_quarantined 20" in alert
    assert "<http://dagster.example.com/assets/silver/orders?view=checks|" in alert


def test_runs_failing_while_slack_is_down_are_alerted_once_each_after_a_restart(
    platform: Platform,
) -> None:
    def failed_runs() -> list[str]:
        runs = platform.instance().get_runs(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], created_after=since)
        )
        return [run.run_id for run in runs]

    # what the earlier tests started has ended: the runs that fail here are this test's own
    until(platform.idle, timeout=600, why="the earlier tests' runs to end")
    platform.slack.stop()
    since = dt.datetime.now(dt.UTC)
    # a client outside the platform holds the warehouse past its patience (5 s here, no retry):
    # gold steps give up waiting and their runs fail
    with duckdb.connect(str(platform.warehouse)):
        land_day(platform, "1998-08-11", 900_003, customer=1, price="10.00")
        until(failed_runs, timeout=300, why="a gold run to fail")
        until(platform.idle, timeout=300, why="the runs to end")
    failed = failed_runs()

    def waiting() -> bool:
        pending = {p["alert"]["id"] for p in platform.outbox()["pending"]}  # type: ignore[attr-defined]
        return all(f"run:{run_id}" in pending for run_id in failed)

    until(waiting, timeout=60, why="the run alerts waiting in the outbox")
    platform.dev.stop()
    platform.slack.start()
    platform.dev.start()

    def delivered() -> bool:
        ids = platform.slack.alert_ids()
        return all(f"run:{run_id}" in ids for run_id in failed)

    until(delivered, timeout=120, why="the run alerts")
    time.sleep(6)
    ids = platform.slack.alert_ids()
    assert all(ids.count(f"run:{run_id}") == 1 for run_id in failed)
    texts = [t for t in messages(platform, "Run failed") if "[1998-08-11]" in t]
    assert len(texts) == 1, (
        "the day's own run: silver passed, its gold step failed",
        messages(platform, "Run failed"),
        runs_since(platform, since.timestamp()),
    )
    # what failed, named in the alert: the day's gold step, and why
    assert "gold_daily_marts:" in texts[0], texts[0]
    assert "warehouse.duckdb open" in texts[0], texts[0]


def test_stale_dimensions_alert_once_each_and_recover_once(platform: Platform) -> None:
    silver = [f"silver/{name}" for name in DIMENSIONS]
    until(
        lambda: (
            {s for s in silver if any(f"`{s}`" in t for t in messages(platform, "Stale data"))}
            == set(silver)
        ),
        timeout=240,
        every=3,
        why="a stale-data alert for every dimension",
    )
    customer = (platform.landing / "customer").glob("*/*")
    platform.drop("customer/1998-08-13/customer_again.tbl", next(iter(customer)).read_text())

    until(
        lambda: any("`silver/customer`" in t for t in messages(platform, "Fresh again")),
        timeout=600,
        why="the recovery alert",
    )
    time.sleep(6)
    for name in silver:
        stale = [t for t in messages(platform, "Stale data") if f"`{name}`" in t]
        assert len(stale) == transitions(platform, name, to_fail=True), name
    recovered = [t for t in messages(platform, "Fresh again") if "`silver/customer`" in t]
    assert len(recovered) == transitions(platform, "silver/customer", to_fail=False) == 1
    assert len(platform.slack.alert_ids()) == len(set(platform.slack.alert_ids()))


def transitions(platform: Platform, asset: str, *, to_fail: bool) -> int:
    """How many times the daemon recorded `asset` turning FAIL (or leaving FAIL for PASS)."""
    records = platform.instance().get_event_records(
        dg.EventRecordsFilter(
            event_type=dg.DagsterEventType.FRESHNESS_STATE_CHANGE,
            asset_key=dg.AssetKey.from_user_string(asset),
        ),
        limit=1000,
    )
    count = 0
    for record in records:
        change = record.event_log_entry.dagster_event.event_specific_data  # type: ignore[union-attr]
        before, after = change.previous_state.value, change.new_state.value
        if to_fail and after == "FAIL" and before != "FAIL":
            count += 1
        if not to_fail and before == "FAIL" and after == "PASS":
            count += 1
    return count


LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""


def test_a_hung_run_fails_at_its_time_limit_and_releases_what_waits(platform: Platform) -> None:
    """A gold build that waits forever (here: on the warehouse's writer lock, which this test
    holds) is failed by run monitoring at the run's time limit, so it neither holds back what
    is downstream nor stays *Started*; its failure is alerted."""
    # a run the earlier tests started would take the warehouse's pool before this one
    until(platform.idle, timeout=600, why="the earlier tests' runs to end")
    lock = platform.warehouse.with_suffix(".lock")
    with lock.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        launched = platform.dev.graphql(
            LAUNCH,
            {
                "params": {
                    "selector": {
                        "repositoryLocationName": "data_platform",
                        "repositoryName": "__repository__",
                        "jobName": "__ASSET_JOB",
                        "assetSelection": [{"path": ["gold", "pricing_summary"]}],
                    },
                    # the platform's own runs carry PLATFORM_RUN_MAX_SECONDS (2 hours)
                    "executionMetadata": {"tags": [{"key": "dagster/max_runtime", "value": "20"}]},
                }
            },
        )["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]

        def ended() -> dg.DagsterRun | None:
            run = platform.instance().get_run_by_id(run_id)
            return run if run is not None and run.is_finished else None

        run = until(ended, timeout=240, why="run monitoring to end the hung run")
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    until(
        lambda: f"run:{run_id}" in platform.slack.alert_ids(),
        timeout=120,
        why="the hung run's alert",
    )
