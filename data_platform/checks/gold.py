"""Gold checks beyond dbt's own tests: gold must agree with the silver it was built from."""

import datetime as dt
from decimal import Decimal

import dagster as dg
import polars as pl

from data_platform.catalog.keys import gold_key, history_key, lake_key
from data_platform.catalog.partitions import partition_dates
from data_platform.checks.offenders import offenders
from data_platform.contracts import entity_named
from data_platform.contracts import history as hist
from data_platform.contracts import lineage as lin
from data_platform.resources.lake import Lake
from data_platform.resources.warehouse import WAREHOUSE_POOL, Warehouse, WarehouseBusyError

MART = gold_key("daily_revenue_by_nation")
SILVER = {name: lake_key("silver", entity_named(name)) for name in ("orders", "lineitem", "nation")}
# the mart's customer is the version valid on the order date, as its own reads are: the check
# runs after them, also in a first load's run that builds them
CUSTOMER_HISTORY = history_key(entity_named("customer"))
# Scale 2 times scale 2 must be widened first: polars would keep scale 2 and round every line.
EXACT = pl.Decimal(38, 4)
HALF_CENT = Decimal("0.005")


def revenue_from_silver(lake: Lake, low: dt.date, high: dt.date) -> pl.DataFrame:
    """The mart's definition computed by polars straight from silver, unrounded."""
    in_window = lin.in_business_dates(low, high)
    orders = (
        lake.scan(SILVER["orders"])
        .filter(in_window)
        .select("o_orderkey", "o_custkey", "o_orderdate")
    )
    lines = (
        lake.scan(SILVER["lineitem"])
        .filter(in_window)
        .select(
            "l_orderkey",
            net=pl.col("l_extendedprice").cast(EXACT) * (1 - pl.col("l_discount").cast(EXACT)),
        )
    )
    versions = lake.scan(CUSTOMER_HISTORY).select(
        "c_custkey", "c_nationkey", hist.VALID_FROM, hist.VALID_TO
    )
    ordered_at = pl.col("o_orderdate").cast(lin.UTC_TIMESTAMP)
    nations = lake.scan(SILVER["nation"]).select("n_nationkey", nation="n_name")
    return (
        orders.join(lines, left_on="o_orderkey", right_on="l_orderkey")
        .join(versions, left_on="o_custkey", right_on="c_custkey")
        .filter((pl.col(hist.VALID_FROM) <= ordered_at) & (ordered_at < pl.col(hist.VALID_TO)))
        .join(nations, left_on="c_nationkey", right_on="n_nationkey")
        .group_by(order_date="o_orderdate", nation="nation")
        .agg(order_count=pl.col("o_orderkey").n_unique().cast(pl.Int64), exact=pl.col("net").sum())
        .collect()
    )


def compare(gold: pl.DataFrame, silver: pl.DataFrame) -> pl.DataFrame:
    """Rows where gold and silver disagree: a missing side, another order count, or a revenue
    further than half a cent from the exact sum (gold rounds it to the cent)."""
    joined = gold.join(
        silver, on=["order_date", "nation"], how="full", coalesce=True, suffix="_silver"
    )
    off = (pl.col("revenue").cast(EXACT) - pl.col("exact")).abs() > HALF_CENT
    return joined.filter(
        pl.col("revenue").is_null()
        | pl.col("exact").is_null()
        | (pl.col("order_count") != pl.col("order_count_silver"))
        | off
    ).select(
        "order_date",
        "nation",
        gold_orders="order_count",
        silver_orders="order_count_silver",
        gold_revenue=pl.col("revenue").cast(pl.String),
        silver_revenue=pl.col("exact").cast(pl.String),
    )


def revenue_check(partitions: dg.PartitionsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=MART,
        name="revenue_matches_silver",
        description="Each day's revenue and order count per nation equal polars' computation "
        "from silver (each customer's nation as on the order date, from its history): gold is "
        "built from what silver holds, nothing lost or doubled.",
        # only the daily tables: a partitioned check cannot also depend on unpartitioned assets
        additional_deps=[SILVER["orders"], SILVER["lineitem"]],
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, lake: Lake, warehouse: Warehouse
    ) -> dg.AssetCheckResult:
        window = partition_dates(context)
        assert window is not None, "the revenue check runs on daily partitions"
        low, high = window
        try:
            with warehouse.connect(read_only=True) as connection:
                gold = connection.execute(
                    "select order_date, nation, order_count, revenue"
                    " from gold.daily_revenue_by_nation where order_date >= ? and order_date < ?",
                    [low, high],
                ).pl()
        except WarehouseBusyError as busy:
            raise warehouse.retry_later() from busy
        wrong = compare(gold, revenue_from_silver(lake, low, high))
        return offenders(
            wrong, "mismatches", metadata={"gold_rows": dg.MetadataValue.int(gold.height)}
        )

    return _check
