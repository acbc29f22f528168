"""Gold marts built by dbt from silver, through the platform's assets."""

import json
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import yaml
from deltalake import write_deltalake

from data_platform.assets.gold import dbt_project, manifest_path
from data_platform.catalog.keys import gold_key
from data_platform.definitions import build_definitions
from data_platform.profiles import common
from data_platform.resources.warehouse import WAREHOUSE_POOL, Warehouse
from tests.conftest import CONFIG, Landing, delete_record, materialize_layers, tbl_line, tbl_orders

MARTS = (
    "daily_revenue_by_nation",
    "pricing_summary",
    "local_supplier_volume",
    "customer_lifetime_value",
)
NATIONS = "7|GERMANY|3|c|\n8|INDIA|2|c|\n"
CUSTOMERS = (
    "1|Customer#1|addr|7|phone|10.00|BUILDING|c|\n2|Customer#2|addr|8|phone|10.00|BUILDING|c|\n"
)


def land_two_days(landing: Landing) -> None:
    landing.drop("nation/1995-01-01/nation.tbl", NATIONS)
    landing.drop("customer/1995-01-01/customer.tbl", CUSTOMERS)
    day1, day2 = "1995-01-01", "1995-01-02"
    orders = tbl_orders(10, day=day1, customer=1) + tbl_orders(11, day=day1, customer=2)
    landing.drop(f"orders/{day1}/o.tbl", orders)
    lines = [
        tbl_line(10, day1, price="100.00", discount="0.10"),
        tbl_line(10, day1, number=2, price="33.33", discount="0.05"),
        tbl_line(11, day1, price="50.00", discount="0.00"),
    ]
    landing.drop(f"lineitem/{day1}/l.tbl", "".join(f"{record}\n" for record in lines))
    landing.drop(f"orders/{day2}/o.tbl", tbl_orders(12, day=day2, customer=1))
    landing.drop(
        f"lineitem/{day2}/l.tbl", tbl_line(12, day2, price="70.00", discount="0.00") + "\n"
    )


def build_day(
    assets: list[dg.AssetsDefinition], resources: dict[str, object], day: str
) -> dg.ExecuteInProcessResult:
    for entity in ("nation", "customer"):
        materialize_layers(assets, resources, entity)
    for entity in ("orders", "lineitem"):
        materialize_layers(assets, resources, entity, day)
    return build_daily_gold(assets, resources, day)


def build_daily_gold(
    assets: list[dg.AssetsDefinition], resources: dict[str, object], day: str
) -> dg.ExecuteInProcessResult:
    """The daily revenue mart for `day`, from silver as it stands."""
    mart = gold_key("daily_revenue_by_nation")
    gold = [a for a in assets if mart in a.keys]
    result = dg.materialize(gold, resources=resources, partition_key=day, selection=[mart])
    assert result.success
    return result


def daily_revenue(warehouse: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql(
            "select order_date::varchar, nation, order_count, revenue"
            " from gold.daily_revenue_by_nation order by all"
        ).fetchall()


def test_gold_marts_read_silver_and_live_in_the_gold_group(
    platform_assets: list[dg.AssetsDefinition],
) -> None:
    graph = build_definitions().resolve_asset_graph()
    for mart in MARTS:
        node = graph.get(dg.AssetKey(["gold", mart]))
        assert node.group_name == "gold"
        assert {"dbt", "duckdb"} <= set(node.kinds)
        assert node.parent_keys
        assert all(key.path[0] == "silver" for key in node.parent_keys)
        assert graph.get_check_keys_for_assets({node.key}), mart
    daily = graph.get(dg.AssetKey(["gold", "daily_revenue_by_nation"]))
    assert daily.partitions_def is not None
    assert daily.backfill_policy == dg.BackfillPolicy.single_run()


def test_warehouse_writers_share_one_pool_slot(platform_assets: list[dg.AssetsDefinition]) -> None:
    gold = [a for a in platform_assets if any(k.path[0] == "gold" for k in a.keys)]
    assert gold
    assert all(node.pools == {WAREHOUSE_POOL} for a in gold for node in [a.node_def])  # type: ignore[attr-defined]
    assert yaml.safe_load(CONFIG.read_text())["concurrency"]["pools"]["default_limit"] == 1


def test_a_day_of_gold_is_exact_and_a_correction_replaces_only_that_day(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    warehouse_path: Path,
) -> None:
    land_two_days(landing)
    build_day(platform_assets, resources, "1995-01-01")
    build_day(platform_assets, resources, "1995-01-02")
    # 100.00 * 0.90 + 33.33 * 0.95 = 121.6635 -> 121.66 for GERMANY; 50.00 for INDIA
    assert daily_revenue(warehouse_path) == [
        ("1995-01-01", "GERMANY", 1, Decimal("121.66")),
        ("1995-01-01", "INDIA", 1, Decimal("50.00")),
        ("1995-01-02", "GERMANY", 1, Decimal("70.00")),
    ]
    landing.drop(
        "lineitem/1995-01-01/fix.tbl", delete_record("lineitem", l_orderkey=10, l_linenumber=2)
    )
    landing.drop("orders/1995-01-01/fix.tbl", delete_record("orders", o_orderkey=11))
    build_day(platform_assets, resources, "1995-01-01")
    assert daily_revenue(warehouse_path) == [
        ("1995-01-01", "GERMANY", 1, Decimal("90.00")),
        ("1995-01-02", "GERMANY", 1, Decimal("70.00")),
    ]


def test_a_mart_failing_a_dbt_test_is_not_published_and_stops_what_depends_on_it(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
    warehouse_path: Path,
) -> None:
    """Write, audit, publish: dbt tests the mart in its working copy; readers keep the last
    good version, and the failed check says so and shows the failing rows."""
    landing.drop("nation/1995-01-01/nation.tbl", NATIONS)
    landing.drop("customer/1995-01-01/customer.tbl", CUSTOMERS)
    landing.drop("orders/1995-01-01/o.tbl", tbl_orders(10, customer=1))
    landing.drop("lineitem/1995-01-01/l.tbl", tbl_line(10, "1995-01-01", price="100.00") + "\n")
    build_day(platform_assets, resources, "1995-01-01")
    good = daily_revenue(warehouse_path)
    assert good == [("1995-01-01", "GERMANY", 1, Decimal("95.00"))]
    # Bad data past silver's gate (as a faulty writer would leave it): a 300% discount
    # makes the day's revenue negative, and gold's `revenue >= 0` test must catch it.
    silver = pl.read_delta(str(lake_dir / "silver" / "lineitem"))
    bad = silver.with_columns(
        l_linenumber=pl.lit(2, pl.Int64), l_discount=pl.lit(Decimal("3.00"), pl.Decimal(15, 2))
    )
    write_deltalake(
        str(lake_dir / "silver" / "lineitem"),
        bad.with_columns(_lake_month=pl.lit("1995-01")).to_arrow(),
        mode="append",
        partition_by=["_lake_month"],
    )

    @dg.asset(
        deps=[dg.AssetKey(["gold", "daily_revenue_by_nation"])],
        partitions_def=next(
            a for a in platform_assets if dg.AssetKey(["gold", "daily_revenue_by_nation"]) in a.keys
        ).partitions_def,
    )
    def revenue_report() -> None:
        raise AssertionError("must not run after a failed blocking check")

    gold = next(
        a for a in platform_assets if dg.AssetKey(["gold", "daily_revenue_by_nation"]) in a.keys
    )
    result = dg.materialize(
        [gold, revenue_report],
        resources=resources,
        partition_key="1995-01-01",
        raise_on_error=False,
        selection=[dg.AssetKey(["gold", "daily_revenue_by_nation"]), revenue_report.key],
    )
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == [
        "expression_is_true_daily_revenue_by_nation_revenue___0"
    ]
    assert failed[0].severity == dg.AssetCheckSeverity.ERROR
    assert "revenue_report" not in {e.step_key for e in result.get_step_success_events()}
    assert not result.success
    # readers still see the good day; the rejected build is no materialization
    assert daily_revenue(warehouse_path) == good
    assert not result.get_asset_materialization_events()
    metadata = failed[0].metadata
    assert metadata["published"].value is False
    [failing] = metadata["failing_rows"].value.records  # type: ignore[union-attr]
    assert Decimal(str(failing.data["revenue"])) < 0
    # the working copy is back on the published version: a later good build starts from it
    with duckdb.connect(str(warehouse_path), read_only=True) as connection:
        audit = connection.sql(
            "select order_date::varchar, nation, order_count, revenue"
            " from gold_audit.daily_revenue_by_nation order by all"
        ).fetchall()
    assert audit == good


def test_a_built_day_shows_its_row_count_a_preview_and_column_lineage(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    land_two_days(landing)
    result = build_day(platform_assets, resources, "1995-01-01")
    (event,) = result.get_asset_materialization_events()
    assert (event.asset_key.path, event.partition) == (
        ["gold", "daily_revenue_by_nation"],
        "1995-01-01",
    )
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"] == dg.MetadataValue.int(2)
    preview = metadata["preview"]
    assert isinstance(preview, dg.TableMetadataValue)
    assert [r.data for r in preview.records] == [
        {"order_date": "1995-01-01", "nation": "GERMANY", "order_count": 1, "revenue": "121.66"},
        {"order_date": "1995-01-01", "nation": "INDIA", "order_count": 1, "revenue": "50.00"},
    ]
    lineage = metadata["dagster/column_lineage"]
    assert isinstance(lineage, dg.TableColumnLineageMetadataValue)
    assert lineage.value.deps_by_column["revenue"] == [
        dg.TableColumnDep(asset_key=dg.AssetKey(["silver", "lineitem"]), column_name=name)
        for name in ("l_discount", "l_extendedprice")
    ]


def test_gold_revenue_is_checked_against_silver(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    warehouse_path: Path,
) -> None:
    land_two_days(landing)
    build_day(platform_assets, resources, "1995-01-01")
    check = next(
        c
        for c in build_definitions().asset_checks or []
        if "revenue_matches_silver" in str(c.check_keys)
    )
    daily = [a for a in platform_assets if a.partitions_def is not None]

    def run_with(*keys: dg.AssetKey) -> dg.AssetCheckEvaluation:
        result = dg.materialize(
            [*daily, check],
            resources=resources,
            partition_key="1995-01-01",
            selection=dg.AssetSelection.assets(*keys) | dg.AssetSelection.checks(check),
        )
        (evaluation,) = [
            e
            for e in result.get_asset_check_evaluations()
            if e.check_name == "revenue_matches_silver"
        ]
        return evaluation

    agreed = run_with(dg.AssetKey(["gold", "daily_revenue_by_nation"]))
    assert (agreed.passed, agreed.metadata["gold_rows"].value) == (True, 2)
    with duckdb.connect(str(warehouse_path)) as connection:
        connection.execute(
            "update gold.daily_revenue_by_nation set revenue = revenue + 0.01"
            " where nation = 'INDIA'"
        )
    drifted = run_with(dg.AssetKey(["silver", "lineitem"]), dg.AssetKey(["quarantine", "lineitem"]))
    assert (drifted.passed, drifted.metadata["mismatches"].value) == (False, 1)


def test_every_dbt_test_is_an_asset_check_of_a_gold_mart() -> None:
    """dagster-dbt makes no asset checks of tests on ephemeral models (staging) and dbt never
    runs them in the marts' builds: staging carries none, and what such tests would restate
    (types, keys, relations) is silver's contract and relation checks."""
    manifest = json.loads(manifest_path(dbt_project()).read_text())
    tests = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"}
    graph = build_definitions().resolve_asset_graph()
    marts = {key for key in graph.get_all_asset_keys() if key.path[0] == "gold"}
    checks = {key.name for key in graph.get_check_keys_for_assets(marts)}
    assert len(tests) > 40
    assert tests <= checks


def test_gold_on_a_ducklake_is_published_after_its_tests(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
    tmp_path: Path,
    catalog: str,
) -> None:
    """The production profile's warehouse shape: the same write, audit, publish on a DuckLake."""
    warehouse = Warehouse(lake_dir=str(lake_dir), catalog=catalog, data_path=f"{tmp_path}/gold/")
    on_ducklake = {**resources, "warehouse": warehouse, "dbt": common.dbt(warehouse)}
    land_two_days(landing)
    build_day(platform_assets, on_ducklake, "1995-01-01")
    with warehouse.connect() as connection:
        published = connection.sql(
            "select order_date::varchar, nation, order_count, revenue"
            " from gold.daily_revenue_by_nation order by all"
        ).fetchall()
    assert published == [
        ("1995-01-01", "GERMANY", 1, Decimal("121.66")),
        ("1995-01-01", "INDIA", 1, Decimal("50.00")),
    ]
