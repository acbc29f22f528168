{#-
    Daily-partitioned and incremental: with a window (PLATFORM_WINDOW_START/END) only its order
    dates are computed, and the pre_hook first deletes that window from the table
    (see macros/daily_window.sql). Without the vars, or on a full refresh, every date is computed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        tags=['daily'],
        pre_hook="{{ delete_daily_window('order_date') }}",
    )
}}

with

orders as (

    select
        o_orderkey,
        o_custkey,
        o_orderdate

    from {{ ref('stg_orders') }}

    where {{ daily_window_filter('o_orderdate') }}

),

lineitem as (

    select
        l_orderkey,
        l_extendedprice,
        l_discount

    from {{ ref('stg_lineitem') }}

),

customer_history as (

    select
        c_custkey,
        c_nationkey,
        valid_from,
        valid_to

    from {{ ref('stg_customer_history') }}

),

nation as (

    select
        n_nationkey,
        n_name

    from {{ ref('stg_nation') }}

),

order_lines as (

    select
        orders.o_orderdate,
        nation.n_name,
        orders.o_orderkey,
        lineitem.l_extendedprice * (1 - lineitem.l_discount) as net_price

    from orders
    inner join lineitem on lineitem.l_orderkey = orders.o_orderkey
    -- the customer's nation on the order date, not today's: a move keeps past days where they were
    inner join customer_history
        on customer_history.c_custkey = orders.o_custkey
        and customer_history.valid_from <= orders.o_orderdate
        and customer_history.valid_to > orders.o_orderdate
    inner join nation on nation.n_nationkey = customer_history.c_nationkey

),

final as (

    select
        cast(o_orderdate as date) as order_date,
        cast(n_name as varchar) as nation,
        cast(count(distinct o_orderkey) as bigint) as order_count,
        -- exact decimal arithmetic, rounded to the cent once per day and nation
        cast(round(sum(net_price), 2) as decimal(18, 2)) as revenue

    from order_lines
    group by o_orderdate, n_name

)

select * from final
order by order_date, nation
