"""Dimension history through the real assets: gold reports a customer's nation as it was."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb

from data_platform.catalog.keys import gold_key, lake_key
from data_platform.catalog.partitions import daily_partitions
from data_platform.checks.gold import revenue_check
from data_platform.contracts import entity_named
from data_platform.contracts import history as hist
from tests.conftest import Landing, delete_record, layer_assets, read_table, tbl_line, tbl_orders

NATIONS = "7|GERMANY|3|c|\n8|INDIA|2|c|\n"
BEFORE, AFTER = "1995-01-01", "1995-01-10"
DAYS = {
    "dagster/asset_partition_range_start": BEFORE,
    "dagster/asset_partition_range_end": AFTER,
}


def customer(nation: int, op: str = "", changed_at: str = "") -> str:
    return f"1|Customer#1|addr|{nation}|phone|10.00|BUILDING|c|{op}|{changed_at}|\n"


def land_orders(landing: Landing) -> None:
    """Customer 1's orders: 10 before the move (100.00), 11 after it (70.00)."""
    landing.drop("nation/1995-01-01/nation.tbl", NATIONS)
    for order, day, price in ((10, BEFORE, "100.00"), (11, AFTER, "70.00")):
        landing.drop(f"orders/{day}/o.tbl", tbl_orders(order, day=day, customer=1))
        record = tbl_line(order, day, price=price, discount="0.00")
        landing.drop(f"lineitem/{day}/l.tbl", record + "\n")


def build_dimensions(
    assets: list[dg.AssetsDefinition], resources: dict[str, object]
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(layer_assets(assets, "customer", "nation"), resources=resources)
    assert result.success
    return result


def build_days(
    assets: list[dg.AssetsDefinition], resources: dict[str, object]
) -> dg.ExecuteInProcessResult:
    """Silver orders and lineitem, then the daily revenue mart and its checks, of both days (one
    range run)."""
    layers = {
        lake_key(layer, entity_named(name))
        for layer in ("bronze", "silver")
        for name in ("orders", "lineitem")
    }
    daily = [a for a in assets if layers & set(a.keys)]
    mart = gold_key("daily_revenue_by_nation")
    gold = [a for a in assets if mart in a.keys]
    assert dg.materialize(daily, resources=resources, tags=DAYS).success
    check = revenue_check(daily_partitions())
    result = dg.materialize([*gold, check], resources=resources, tags=DAYS, selection=[mart])
    assert result.success
    return result


def daily_revenue(warehouse: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.sql(
            "select order_date::varchar, nation, revenue from gold.daily_revenue_by_nation"
            " order by all"
        ).fetchall()


def versions(lake_dir: Path) -> list[tuple[object, ...]]:
    frame = read_table(lake_dir, "silver", "customer_history").sort(hist.VALID_FROM)
    columns = ["c_custkey", "c_nationkey", hist.VALID_FROM, hist.VALID_TO, hist.IS_CURRENT]
    return frame.select(columns).rows()


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def test_a_customer_who_moves_keeps_past_days_of_revenue_in_the_old_nation(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
    warehouse_path: Path,
) -> None:
    land_orders(landing)
    landing.drop("customer/1995-01-01/customer.tbl", customer(7))
    build_dimensions(platform_assets, resources)
    build_days(platform_assets, resources)
    assert daily_revenue(warehouse_path) == [
        (BEFORE, "GERMANY", Decimal("100.00")),
        (AFTER, "GERMANY", Decimal("70.00")),
    ]
    # the customer moves to INDIA on 1995-01-05; both days are rebuilt afterwards
    landing.drop("customer/1995-01-05/move.tbl", customer(8, "U", "1995-01-05T00:00:00Z"))
    result = build_dimensions(platform_assets, resources)
    days = build_days(platform_assets, resources)

    assert read_table(lake_dir, "silver", "customer")["c_nationkey"].to_list() == [8]
    assert versions(lake_dir) == [
        (1, 7, hist.BEGINNING_OF_TIME, at("1995-01-05"), False),
        (1, 8, at("1995-01-05"), hist.END_OF_TIME, True),
    ]
    assert daily_revenue(warehouse_path) == [
        (BEFORE, "GERMANY", Decimal("100.00")),
        (AFTER, "INDIA", Decimal("70.00")),
    ]
    history = dg.AssetKey(["silver", "customer_history"])
    checks = {
        e.check_name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_key == history
    }
    assert checks == {"intervals_do_not_overlap": True, "one_current_version_per_live_key": True}
    # gold's own check computes the days from silver as the mart does: by the version then valid
    (revenue,) = [
        e for e in days.get_asset_check_evaluations() if e.check_name == "revenue_matches_silver"
    ]
    assert revenue.passed, revenue.metadata


def test_a_correction_landed_late_takes_its_place_by_changed_at(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
    warehouse_path: Path,
) -> None:
    land_orders(landing)
    landing.drop("customer/1995-01-01/customer.tbl", customer(7, "I", "1994-12-01T00:00:00Z"))
    landing.drop("customer/1995-01-20/move.tbl", customer(7, "U", "1995-01-20T00:00:00Z"))
    # landed last, but the source changed it before the extract above: a move on 1995-01-05
    landing.drop("customer/1995-01-05/late.tbl", customer(8, "U", "1995-01-05T00:00:00Z"))
    build_dimensions(platform_assets, resources)
    build_days(platform_assets, resources)

    assert versions(lake_dir) == [
        (1, 7, hist.BEGINNING_OF_TIME, at("1995-01-05"), False),
        (1, 8, at("1995-01-05"), at("1995-01-20"), False),
        (1, 7, at("1995-01-20"), hist.END_OF_TIME, True),
    ]
    assert daily_revenue(warehouse_path) == [
        (BEFORE, "GERMANY", Decimal("100.00")),
        (AFTER, "INDIA", Decimal("70.00")),
    ]


def test_a_deleted_customer_has_no_current_version_and_keeps_its_past_revenue(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
    warehouse_path: Path,
) -> None:
    land_orders(landing)
    landing.drop("customer/1995-01-01/customer.tbl", customer(7))
    landing.drop(
        "customer/1995-01-05/gone.tbl",
        delete_record("customer", "1995-01-05T00:00:00Z", c_custkey=1),
    )
    build_dimensions(platform_assets, resources)
    build_days(platform_assets, resources)

    assert read_table(lake_dir, "silver", "customer").height == 0
    assert versions(lake_dir) == [(1, 7, hist.BEGINNING_OF_TIME, at("1995-01-05"), False)]
    # the order placed while the customer existed still counts; the one after has no customer
    assert daily_revenue(warehouse_path) == [(BEFORE, "GERMANY", Decimal("100.00"))]
