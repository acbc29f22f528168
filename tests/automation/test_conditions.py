"""Silver and gold follow bronze by declarative automation, evaluated tick by tick on an instance.

Events are reported to the instance as runless materializations and check evaluations: the
conditions read only the instance's records, so the tests need no data and stay fast.
"""

import datetime as dt
import threading
from collections.abc import Iterator

import dagster as dg
import pytest

from data_platform.catalog.keys import history_key, lake_key, lake_keys
from data_platform.compat import record_check_of_materialization
from data_platform.contracts import ENTITIES, entity_named
from data_platform.contracts.history import HISTORY_ENTITIES
from data_platform.definitions import build_definitions
from tests.conftest import gold_keys

DAILY_GOLD = dg.AssetKey(["gold", "daily_revenue_by_nation"])
DAYS = ["1995-01-01", "1995-01-02", "1995-01-03"]


def key(layer: str, entity: str) -> dg.AssetKey:
    return lake_key(layer, entity_named(entity))


def quality_keys(defs: dg.Definitions) -> list[dg.AssetKey]:
    """The quality history's tables: measured day by day as silver changes."""
    graph = defs.resolve_asset_graph()
    return [k for k in graph.get_all_asset_keys() if k.path[0] == "quality"]


def measured(defs: dg.Definitions, day: str) -> dict[str, object]:
    return {k.to_user_string(): [day] for k in quality_keys(defs)}


class _Discard(dg.IOManager):
    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        pass

    def load_input(self, context: dg.InputContext) -> object:
        return None


class Ticks:
    """The automation sensor's evaluations, one `tick()` at a time, over one instance."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs, self.instance = defs, instance
        self.cursor: dg.AssetDaemonCursor | None = None

    def tick(self, at: dt.datetime | None = None) -> dict[str, object]:
        """What this tick requests: asset → sorted partition keys, or True if unpartitioned."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=at
        )
        self.cursor = result.cursor
        requested: dict[str, object] = {}
        for evaluated in result.results:
            subset = evaluated.true_subset
            if subset.size and isinstance(evaluated.key, dg.AssetKey):
                value = subset.get_internal_value()
                partitioned = not isinstance(value, bool)
                keys = sorted(subset.expensively_compute_partition_keys()) if partitioned else True
                requested[evaluated.key.to_user_string()] = keys
        return requested

    def materialized(self, asset: dg.AssetKey, *partitions: str) -> None:
        for partition in partitions or (None,):
            self.instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=asset, partition=partition)
            )

    def check(self, asset: dg.AssetKey, name: str, *, passed: bool) -> None:
        """A blocking check's result on the asset's latest materialization, as its run records
        it: a dimension's checks are unpartitioned."""
        record_check_of_materialization(self.instance, asset, name, passed=passed)

    def rebuilt_day(self, asset: dg.AssetKey, day: str, check: str, *, passed: bool) -> None:
        """A run rebuilding `day` of a daily table, its blocking check (per partition, as silver
        records it in a one-day run) passing or failing."""
        partitions = self.defs.resolve_asset_graph().get(asset).partitions_def
        spec = dg.AssetCheckSpec(check, asset=asset, blocking=True, partitions_def=partitions)

        @dg.asset(key=asset, partitions_def=partitions, check_specs=[spec], io_manager_key="none")
        def rebuilt() -> Iterator[dg.Output[None] | dg.AssetCheckResult]:
            yield dg.Output(None)
            yield dg.AssetCheckResult(passed=passed, check_name=check)

        # a failing blocking check fails the run, as it does in the platform
        dg.materialize(
            [rebuilt],
            instance=self.instance,
            partition_key=day,
            resources={"none": _Discard()},
            raise_on_error=False,
        )

    def one_run(self, day: str, *assets: dg.AssetKey) -> None:
        """One run building `assets` in order, the partitioned ones for `day`: what the landing
        sensor's run of a one-run tick does."""
        graph = self.defs.resolve_asset_graph()
        stubs = []
        for number, asset in enumerate(assets):

            @dg.asset(
                key=asset,
                partitions_def=graph.get(asset).partitions_def,
                deps=list(assets[:number]),
                io_manager_key="none",
            )
            def stub() -> None:
                return None

            stubs.append(stub)
        job = dg.Definitions(
            assets=stubs, resources={"none": _Discard()}
        ).resolve_implicit_global_asset_job_def()
        # the run's asset selection names what it builds, as a sensor's run request does
        job.execute_in_process(
            instance=self.instance, partition_key=day, asset_selection=list(assets)
        )

    def run_everything(self, days: list[str]) -> None:
        """Every layer built for `days` (what the first load leaves), and the ticks settled."""
        for entity in ENTITIES:
            for asset in lake_keys(entity):
                self.materialized(asset, *(days if entity.partitioned else []))
        for entity in HISTORY_ENTITIES:
            self.materialized(history_key(entity))
        for mart in gold_keys(self.defs, daily=True):
            self.materialized(mart, *days)
        for report in gold_keys(self.defs, daily=False):
            self.materialized(report)
        for measured in quality_keys(self.defs):
            self.materialized(measured, *days)
        for _ in range(3):
            self.tick()


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    return build_definitions()


@pytest.fixture
def ticks(defs: dg.Definitions) -> Iterator[Ticks]:
    with dg.instance_for_test() as instance:
        ticks = Ticks(defs, instance)
        ticks.tick()
        ticks.run_everything(DAYS)
        assert ticks.tick() == {}
        yield ticks


def test_a_new_day_in_bronze_flows_to_silver_and_its_gold_day_on_one_tick(ticks: Ticks) -> None:
    ticks.materialized(key("bronze", "orders"), "1995-01-04")
    ticks.materialized(key("bronze", "lineitem"), "1995-01-04")

    assert ticks.tick() == {
        "silver/orders": ["1995-01-04"],
        "quarantine/orders": ["1995-01-04"],
        "silver/lineitem": ["1995-01-04"],
        "quarantine/lineitem": ["1995-01-04"],
        # requested with its parents: one run builds the day end to end
        "gold/daily_revenue_by_nation": ["1995-01-04"],
        **measured(ticks.defs, "1995-01-04"),
    }
    assert ticks.tick() == {}, "requested once, not again while nothing changed"


def test_a_correction_in_an_old_date_flows_on_like_a_new_day(ticks: Ticks) -> None:
    ticks.materialized(key("bronze", "orders"), "1995-01-02")

    assert ticks.tick() == {
        "silver/orders": ["1995-01-02"],
        "quarantine/orders": ["1995-01-02"],
        "gold/daily_revenue_by_nation": ["1995-01-02"],
        **measured(ticks.defs, "1995-01-02"),
    }


def test_unpartitioned_gold_refreshes_once_after_a_batch_not_per_partition(ticks: Ticks) -> None:
    ticks.materialized(key("silver", "orders"), *DAYS)
    ticks.materialized(key("silver", "lineitem"), *DAYS)

    refreshed = ticks.tick()
    reports = {n: refreshed[n] for n in refreshed if "daily" not in n and "quality" not in n}
    assert reports == {
        "gold/pricing_summary": True,
        "gold/local_supplier_volume": True,
        "gold/customer_lifetime_value": True,
    }
    assert ticks.tick() == {}


def test_a_report_whose_run_read_a_table_before_it_changed_is_refreshed_again(
    ticks: Ticks,
) -> None:
    """The report is requested; the table it reads changes while its run is under way; the run
    ends. Its end does not swallow the change: the report is refreshed once more."""
    report = dg.AssetKey(["gold", "pricing_summary"])
    ticks.materialized(key("silver", "lineitem"), "1995-01-01")
    assert ticks.tick().get("gold/pricing_summary") is True
    assert "gold/pricing_summary" not in ticks.tick(), "its run is under way"
    ticks.materialized(key("silver", "lineitem"), "1995-01-02")
    ticks.materialized(report)  # the run, which read the table before the change, ends
    assert ticks.tick().get("gold/pricing_summary") is True
    assert "gold/pricing_summary" not in ticks.tick()


def test_a_report_built_in_the_run_that_changed_its_tables_is_not_requested_again(
    ticks: Ticks,
) -> None:
    """The landing sensor's run of a one-run tick loads a day, then builds the reports: they
    read what the run changed, and automation leaves them be. A report the run did not build
    is refreshed as after any other change."""
    ticks.one_run("1995-01-02", key("silver", "lineitem"), dg.AssetKey(["gold", "pricing_summary"]))

    requested = ticks.tick()
    assert "gold/pricing_summary" not in requested
    assert requested.get("gold/local_supplier_volume") is True
    assert "gold/pricing_summary" not in ticks.tick()


def test_a_failed_blocking_check_holds_back_what_is_downstream_until_it_passes(
    ticks: Ticks,
) -> None:
    silver_orders = key("silver", "orders")
    ticks.rebuilt_day(silver_orders, "1995-01-02", "primary_key_unique", passed=False)

    assert ticks.tick() == {}, "neither the day's gold nor the reports are built on it"
    assert ticks.tick() == {}

    # fixed: silver rebuilt for the day, its check passes, and the day and the reports go on
    ticks.rebuilt_day(silver_orders, "1995-01-02", "primary_key_unique", passed=True)
    assert ticks.tick() == {
        "gold/daily_revenue_by_nation": ["1995-01-02"],
        "gold/customer_lifetime_value": True,
        "gold/local_supplier_volume": True,
        **measured(ticks.defs, "1995-01-02"),
    }


def test_bronze_is_left_to_the_landing_sensor(ticks: Ticks) -> None:
    ticks.materialized(key("bronze", "nation"))
    requested = ticks.tick()
    assert not any(name.startswith("bronze/") for name in requested)
    assert requested["silver/nation"] is True


def test_reports_wait_until_every_table_they_read_exists(defs: dg.Definitions) -> None:
    with dg.instance_for_test() as instance:
        ticks = Ticks(defs, instance)
        ticks.tick()
        ticks.materialized(key("silver", "lineitem"), *DAYS)
        ticks.materialized(key("silver", "orders"), *DAYS)
        requested = ticks.tick()
        # Q1 reads lineitem only; the others also need customer, nation, supplier, region
        assert requested.get("gold/pricing_summary") is True
        assert "gold/local_supplier_volume" not in requested
        assert "gold/customer_lifetime_value" not in requested


def test_a_dimension_change_rebuilds_the_days_with_data_not_every_date(ticks: Ticks) -> None:
    ticks.materialized(key("silver", "nation"))
    requested = ticks.tick()
    assert requested["gold/daily_revenue_by_nation"] == DAYS
    assert requested["gold/local_supplier_volume"] is True


def test_a_partition_whose_run_failed_is_requested_again_at_the_next_retry_hour(
    ticks: Ticks,
) -> None:
    """A run that failed for a cause outside the data (the warehouse held past a build's
    patience) is not requested again by an upstream change, as nothing upstream changed: the
    retry cron (hourly) requests it again, and once the cause is gone it heals."""
    graph = ticks.defs.resolve_asset_graph()
    partitions = graph.get(DAILY_GOLD).partitions_def

    @dg.asset(key=DAILY_GOLD, partitions_def=partitions)
    def held_warehouse() -> None:
        raise RuntimeError("gave up waiting: another process has warehouse.duckdb open")

    failed = dg.materialize(
        [held_warehouse], instance=ticks.instance, partition_key="1995-01-02", raise_on_error=False
    )
    assert not failed.success
    half_past = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    assert ticks.tick(half_past) == {}
    assert ticks.tick(half_past + dt.timedelta(minutes=20)) == {}, "not before the hour"
    assert ticks.tick(half_past + dt.timedelta(minutes=31)) == {
        "gold/daily_revenue_by_nation": ["1995-01-02"]
    }
    assert ticks.tick(half_past + dt.timedelta(minutes=32)) == {}, "once an hour, not each tick"


def test_a_failed_blocking_check_of_a_day_holds_back_only_that_day(ticks: Ticks) -> None:
    """Silver's blocking checks are per partition: another day's passing run neither lifts
    the failed day's hold nor is held by it."""
    silver_orders = key("silver", "orders")
    ticks.rebuilt_day(silver_orders, "1995-01-02", "primary_key_unique", passed=False)
    ticks.rebuilt_day(silver_orders, "1995-01-03", "primary_key_unique", passed=True)
    requested = ticks.tick()
    assert requested["gold/daily_revenue_by_nation"] == ["1995-01-03"]
    assert ticks.tick() == {}, "1995-01-02 stays held"


def test_a_run_stopped_by_its_blocking_check_is_not_retried_by_the_clock(ticks: Ticks) -> None:
    """The same data would fail the same check: only a new upstream change (the fix) requests
    the day again."""
    silver_orders = key("silver", "orders")
    ticks.rebuilt_day(silver_orders, "1995-01-02", "primary_key_unique", passed=False)
    half_past = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    assert ticks.tick(half_past) == {}
    assert ticks.tick(half_past + dt.timedelta(minutes=31)) == {}


def test_a_partition_whose_run_just_ended_is_requested_a_tick_later(ticks: Ticks) -> None:
    """The daemon reads whether a run is under way afresh, and what runs built only up to the
    tick's first event: on the tick a run ends, what it built may not be seen yet, and its
    partition looks idle and unbuilt. The partition waits that tick; a change still pending
    (here: bronze landing while the run failed) is requested on the next."""
    silver = key("silver", "orders")
    partitions = ticks.defs.resolve_asset_graph().get(silver).partitions_def
    started, finish = threading.Event(), threading.Event()

    @dg.asset(key=silver, partitions_def=partitions, io_manager_key="none")
    def interrupted() -> None:
        started.set()
        finish.wait(60)
        raise RuntimeError("the worker went away")

    run = threading.Thread(
        target=dg.materialize,
        args=([interrupted],),
        kwargs={
            "instance": ticks.instance,
            "partition_key": "1995-01-02",
            "resources": {"none": _Discard()},
            "raise_on_error": False,
        },
    )
    run.start()
    assert started.wait(60)
    ticks.materialized(key("bronze", "orders"), "1995-01-02")
    assert "silver/orders" not in ticks.tick(), "its run is under way"
    finish.set()
    run.join(60)
    assert "silver/orders" not in ticks.tick(), "the tick its run ended"
    assert ticks.tick().get("silver/orders") == ["1995-01-02"]
