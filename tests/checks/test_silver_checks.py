"""Silver's checks: what each says, and that a failing blocking one stops what depends on it."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import dagster as dg
import polars as pl
from deltalake import DeltaTable

from data_platform.checks.contract_schema import failures
from data_platform.contracts import entity_named
from data_platform.contracts import lineage as lin
from tests.conftest import Landing, layer_assets, materialize_layers, read_table, tbl_orders

ORDERS = entity_named("orders")


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_clean_day_passes_every_check_with_its_figures(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1, 2, 3))
    landing.drop("orders/1995-01-01/fix.tbl", tbl_orders(3, price="12.00"))
    evaluations = checks(materialize_layers(platform_assets, resources, "orders", "1995-01-01"))
    assert {name: e.passed for name, e in evaluations.items()} == {
        "known_layout": True,
        "rows_per_file": True,
        "known_columns": True,
        "contract": True,
        "primary_key_unique": True,
        "reconciliation": True,
        "quarantine_rate": True,
    }
    figures = evaluations["reconciliation"].metadata
    assert (figures["rows_landed"].value, figures["rows_current"].value) == (4, 3)
    assert (figures["rows_superseded"].value, figures["files"].value) == (1, 2)


def test_quarantine_rate_fails_above_one_percent_and_silver_still_flows(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    landing.drop(
        "orders/1995-01-01/a.tbl", tbl_orders(1) + "2|7|O|not a price|1995-01-01|x|y|0|c|\n"
    )
    result = materialize_layers(platform_assets, resources, "orders", "1995-01-01")
    rate = checks(result)["quarantine_rate"]
    assert not rate.passed
    assert rate.severity == dg.AssetCheckSeverity.ERROR
    assert rate.metadata["rate"].value == 0.5
    assert rate.metadata["quarantine_table"] == dg.MetadataValue.asset(
        dg.AssetKey(["quarantine", "orders"])
    )


def test_check_metadata_is_numbers_tables_and_links_not_json(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1, 1) + "2|7|O|bad|1995-01-01|x|y|0|c|\n")
    evaluations = checks(materialize_layers(platform_assets, resources, "orders", "1995-01-01"))
    typed = (
        dg.IntMetadataValue,
        dg.FloatMetadataValue,
        dg.TableMetadataValue,
        dg.DagsterAssetMetadataValue,
    )
    for name, evaluation in evaluations.items():
        for key, value in evaluation.metadata.items():
            assert isinstance(value, typed), (name, key, value)


def test_quarantine_rate_between_thresholds_is_a_warning(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    good = tbl_orders(*range(1, 501))
    landing.drop("orders/1995-01-01/a.tbl", good + "999|7|O|bad|1995-01-01|x|y|0|c|\n")
    rate = checks(materialize_layers(platform_assets, resources, "orders", "1995-01-01"))[
        "quarantine_rate"
    ]
    assert (rate.passed, rate.severity) == (False, dg.AssetCheckSeverity.WARN)


def test_duplicate_key_across_dates_blocks_that_days_gold_while_other_days_go_on(
    platform_assets: list[dg.AssetsDefinition],
    resources: dict[str, object],
    landing: Landing,
    lake_dir: Path,
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1))
    landing.drop("orders/1995-01-02/a.tbl", tbl_orders(1, day="1995-01-02"))  # order 1 again
    landing.drop("orders/1995-01-03/a.tbl", tbl_orders(3, day="1995-01-03"))
    materialize_layers(platform_assets, resources, "orders", "1995-01-01")

    @dg.asset(
        deps=[dg.AssetKey(["silver", "orders"])],
        partitions_def=platform_assets[0].partitions_def
        or next(a.partitions_def for a in platform_assets if a.partitions_def),
    )
    def daily_report(context: dg.AssetExecutionContext) -> None:
        context.log.info(f"report for {context.partition_key}")

    def run(day: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [*layer_assets(platform_assets, "orders"), daily_report],
            resources=resources,
            partition_key=day,
            raise_on_error=False,
        )

    published = DeltaTable(str(lake_dir / "silver" / "orders")).version()
    blocked = run("1995-01-02")
    key_check = checks(blocked)["primary_key_unique"]
    assert not key_check.passed
    assert key_check.metadata["duplicate_keys"].value == 1
    assert "daily_report" not in {e.step_key for e in blocked.get_step_success_events()}
    # write, audit, publish: readers never saw the failing version
    assert key_check.metadata["readers_see_version"].value == published
    assert DeltaTable(str(lake_dir / "silver" / "orders")).version() == published
    silver = read_table(lake_dir, "silver", "orders")
    assert silver.select(lin.BUSINESS_DATE, "o_orderkey").rows() == [(dt.date(1995, 1, 1), 1)]

    other_day = run("1995-01-03")
    assert checks(other_day)["primary_key_unique"].passed
    assert "daily_report" in {e.step_key for e in other_day.get_step_success_events()}
    landing.drop("orders/1995-01-02/a.tbl", tbl_orders(2, day="1995-01-02"))
    repaired = run("1995-01-02")
    assert checks(repaired)["primary_key_unique"].passed
    assert "daily_report" in {e.step_key for e in repaired.get_step_success_events()}


def test_contract_schema_reports_each_broken_promise() -> None:
    good = {
        "o_orderkey": 1,
        "o_custkey": 7,
        "o_orderstatus": "O",
        "o_totalprice": Decimal("10.00"),
        "o_orderdate": dt.date(1995, 1, 1),
        "o_orderpriority": "1-URGENT",
        "o_clerk": "c",
        "o_shippriority": 0,
        "o_comment": "c",
        lin.CHANGED_AT: None,
        lin.BUSINESS_DATE: dt.date(1995, 1, 1),
        lin.SOURCE_FILE: "f",
        lin.SOURCE_LINE: 1,
        lin.INGESTED_AT: dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    }
    frame = pl.DataFrame(
        [good, {**good, "o_orderstatus": "X"}, {**good, "o_custkey": None, "o_orderkey": 2}],
        schema=lin.silver_schema(ORDERS),
    )
    found = failures(ORDERS, frame)
    assert set(found["check"].to_list()) >= {
        "o_orderstatus_known",
        "not_nullable",
        "multiple_fields_uniqueness",
    }


def test_bronze_checks_point_at_broken_and_empty_files(
    platform_assets: list[dg.AssetsDefinition], resources: dict[str, object], landing: Landing
) -> None:
    landing.drop("orders/1995-01-01/a.tbl", tbl_orders(1) + "2|7|O|\n")
    landing.drop("orders/1995-01-01/empty.csv", "o_orderkey,o_custkey\n")
    landing.drop("orders/1995-01-01/fine.tbl", tbl_orders(3))
    evaluations = checks(materialize_layers(platform_assets, resources, "orders", "1995-01-01"))
    layout, rows = evaluations["known_layout"], evaluations["rows_per_file"]
    assert (layout.passed, layout.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert layout.metadata["files_with_layout_errors"].value == 1
    assert layout.metadata["records_with_layout_errors"].value == 1
    assert (rows.passed, rows.metadata["empty_files"].value, rows.metadata["files"].value) == (
        False,
        1,
        3,
    )
