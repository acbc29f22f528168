"""Column lineage of a mart, derived from the SQL dbt compiled, reaches silver's columns."""

import dagster as dg

from data_platform.assets.gold_metadata import column_lineage

# The shape dbt compiles a mart to: ephemeral staging models inlined as CTEs over delta_scan.
COMPILED = """
with __dbt__cte__stg_orders as (
    with source as (select * from delta_scan('/data/lake/silver/orders')),
    renamed as (select o_orderkey, o_orderdate, o_totalprice from source)
    select * from renamed
),
__dbt__cte__stg_customer as (
    with source as (select * from delta_scan('s3://bucket/lake/silver/customer'))
    select c_custkey, c_name from source
),
final as (
    select
        cast(o_orderdate as date) as order_date,
        max(c_name) as top_customer,
        round(sum(o_totalprice), 2) as revenue,
        count(*) as order_count
    from __dbt__cte__stg_orders as orders
    join __dbt__cte__stg_customer as customer on customer.c_custkey = orders.o_orderkey
    group by o_orderdate
)
select * from final
"""


def silver(table: str, column: str) -> dg.TableColumnDep:
    return dg.TableColumnDep(asset_key=dg.AssetKey(["silver", table]), column_name=column)


def test_each_mart_column_names_the_silver_columns_it_is_computed_from() -> None:
    assert column_lineage(COMPILED).deps_by_column == {
        "order_date": [silver("orders", "o_orderdate")],
        "top_customer": [silver("customer", "c_name")],
        "revenue": [silver("orders", "o_totalprice")],
        "order_count": [],
    }
