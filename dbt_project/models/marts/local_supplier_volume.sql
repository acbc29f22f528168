{#-
    TPC-H Q5, the local supplier volume query, with REGION = 'ASIA' and DATE = 1994-01-01,
    its dates in the platform's calendar (macros/tpch_calendar.sql). Customers and suppliers are
    taken as they were on the order date (their dimension histories): a move restates no past
    order. On data without moves this is Q5 exactly.
-#}

with

customer_history as (

    select * from {{ ref('stg_customer_history') }}

),

orders as (

    select * from {{ ref('stg_orders') }}
    where o_orderdate >= {{ tpch_date('1994-01-01') }}
        and o_orderdate < {{ tpch_date('1995-01-01') }}

),

lineitem as (

    select * from {{ ref('stg_lineitem') }}

),

supplier_history as (

    select * from {{ ref('stg_supplier_history') }}

),

nation as (

    select * from {{ ref('stg_nation') }}

),

region as (

    select * from {{ ref('stg_region') }}
    where r_name = 'ASIA'

),

final as (

    select
        nation.n_name,
        cast(
            sum(lineitem.l_extendedprice * (1 - lineitem.l_discount)) as decimal(38, 4)
        ) as revenue

    from orders
    -- customer and supplier as they were on the order date
    inner join customer_history
        on customer_history.c_custkey = orders.o_custkey
        and customer_history.valid_from <= orders.o_orderdate
        and customer_history.valid_to > orders.o_orderdate
    inner join lineitem on lineitem.l_orderkey = orders.o_orderkey
    -- a local supplier: in the customer's own nation
    inner join supplier_history
        on supplier_history.s_suppkey = lineitem.l_suppkey
        and supplier_history.valid_from <= orders.o_orderdate
        and supplier_history.valid_to > orders.o_orderdate
        and supplier_history.s_nationkey = customer_history.c_nationkey
    inner join nation on nation.n_nationkey = supplier_history.s_nationkey
    inner join region on region.r_regionkey = nation.n_regionkey
    group by nation.n_name

)

select * from final
order by revenue desc, n_name asc
