"""Referential integrity and volume anomalies: warnings an operator can act on."""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from data_platform.catalog.keys import lake_key
from data_platform.checks.silver_relations import anomalous_days
from data_platform.contracts import ENTITIES, Orphans
from data_platform.contracts import lineage as lin
from data_platform.definitions import build_definitions
from tests.conftest import Landing, layer_assets, tbl_line, tbl_orders


def test_lineitem_of_an_unknown_order_warns_and_stays_in_silver(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    landing.drop("customer/1995-01-01/c.tbl", "7|Customer#7|a|1|p|1.00|BUILDING|c|\n")
    landing.drop("orders/1995-01-01/o.tbl", tbl_orders(1))
    known, unknown = tbl_line(1, "1995-01-01"), tbl_line(99, "1995-01-01", number=2)
    landing.drop("lineitem/1995-01-01/l.tbl", f"{known}\n{unknown}\n")
    definitions = build_definitions()
    layers = layer_assets(platform_assets, "customer", "orders", "lineitem")
    unpartitioned = [a for a in layers if a.partitions_def is None]
    assert dg.materialize(unpartitioned, resources=resources).success
    daily = [a for a in layers if a.partitions_def is not None]
    checks = list(definitions.asset_checks or [])
    result = dg.materialize(
        [*daily, *unpartitioned, *checks],
        resources=resources,
        partition_key="1995-01-01",
        selection=dg.AssetSelection.assets(*[k for a in daily for k in a.keys]),
    )
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    orphans = evaluations[("lineitem", "orders_exists")]
    assert (orphans.passed, orphans.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert orphans.metadata["orphans"].value == 1
    assert evaluations[("orders", "customer_exists")].passed


def test_a_parent_not_built_yet_is_a_warning_not_a_failed_run(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    landing.drop("lineitem/1995-01-01/l.tbl", tbl_line(1, "1995-01-01") + "\n")
    lineitem = layer_assets(platform_assets, "lineitem")
    checks = list(build_definitions().asset_checks or [])
    result = dg.materialize(
        [*lineitem, *checks],
        resources=resources,
        partition_key="1995-01-01",
        selection=dg.AssetSelection.assets(*[k for a in lineitem for k in a.keys]),
    )
    assert result.success, "a first load builds orders and lineitem in separate runs"
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "orders_exists"
    ]
    assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert evaluation.description == "silver/orders is not built yet: not checked"


def test_a_collapsed_day_is_an_anomaly_and_normal_variation_is_not() -> None:
    first = dt.date(1995, 1, 1)
    history = [(first + dt.timedelta(days=d), 100 + d % 7) for d in range(28)]
    history += [(first + dt.timedelta(days=28), 10), (first + dt.timedelta(days=29), 90)]
    daily = pl.DataFrame(
        history, schema={lin.BUSINESS_DATE: pl.Date, "rows": pl.Int64}, orient="row"
    )
    found = anomalous_days(daily, first + dt.timedelta(days=28), first + dt.timedelta(days=30))
    assert found.select(lin.BUSINESS_DATE, "rows").rows() == [(first + dt.timedelta(days=28), 10)]


def test_too_little_history_is_not_judged() -> None:
    daily = pl.DataFrame(
        {lin.BUSINESS_DATE: [dt.date(1995, 1, 1), dt.date(1995, 1, 2)], "rows": [100, 1]}
    )
    assert anomalous_days(daily, dt.date(1995, 1, 2), dt.date(1995, 1, 3)).height == 0


def test_small_daily_volumes_are_not_judged() -> None:
    """At SF 0.01 a day has ~6 orders; a day with one is chance, not an anomaly."""
    first = dt.date(1995, 1, 1)
    history = [(first + dt.timedelta(days=d), 6) for d in range(28)] + [
        (first + dt.timedelta(days=28), 1)
    ]
    daily = pl.DataFrame(
        history, schema={lin.BUSINESS_DATE: pl.Date, "rows": pl.Int64}, orient="row"
    )
    assert (
        anomalous_days(daily, first + dt.timedelta(days=28), first + dt.timedelta(days=29)).height
        == 0
    )


def test_a_customer_of_an_unknown_nation_fails_its_check_and_stays_in_silver(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    """A dimension's relation is judged in its own silver step (so every materialization,
    automation's included, evaluates it), as loud as the contract's policy for it: a customer's
    nation is reference data (`Orphans.ERROR`)."""
    landing.drop("region/1995-01-01/r.tbl", "0|AFRICA|c|\n")
    landing.drop("nation/1995-01-01/n.tbl", "0|ALGERIA|0|c|\n")
    landing.drop(
        "customer/1995-01-01/c.tbl",
        "7|Customer#7|a|0|p|1.00|BUILDING|c|\n8|Customer#8|a|42|p|1.00|BUILDING|c|\n",
    )
    layers = layer_assets(platform_assets, "region", "nation", "customer")
    result = dg.materialize(layers, resources=resources)
    assert result.success
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    assert evaluations[("nation", "region_exists")].passed
    orphans = evaluations[("customer", "nation_exists")]
    assert (orphans.passed, orphans.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert orphans.metadata["orphans"].value == 1
    assert orphans.metadata["orphan_policy"].value == Orphans.ERROR.value
    assert [r.data["c_nationkey"] for r in orphans.metadata["examples"].value.records] == [42]
    # nothing landed is dropped: the orphan stays in silver, the marts' joins leave it out
    assert sorted(pl.read_delta(str(lake_dir / "silver" / "customer"))["c_custkey"]) == [7, 8]


def test_every_relation_of_the_contract_is_a_check_of_its_child() -> None:
    graph = build_definitions().resolve_asset_graph()
    declared = {
        (lake_key("silver", entity), f"{reference.parent}_exists")
        for entity in ENTITIES
        for reference in entity.references
    }
    checks = {
        (key.asset_key, key.name)
        for key in graph.get_check_keys_for_assets({k for k, _ in declared})
    }
    assert len(declared) == 8
    assert declared <= checks
