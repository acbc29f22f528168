{#-
    TPC-H Q5, the local supplier volume query, with REGION = 'ASIA' and DATE = 1994-01-01,
    its dates in the platform's calendar (macros/tpch_calendar.sql).
-#}

with

customer as (

    select * from {{ ref('stg_customer') }}

),

orders as (

    select * from {{ ref('stg_orders') }}
    where o_orderdate >= {{ tpch_date('1994-01-01') }}
        and o_orderdate < {{ tpch_date('1995-01-01') }}

),

lineitem as (

    select * from {{ ref('stg_lineitem') }}

),

supplier as (

    select * from {{ ref('stg_supplier') }}

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

    from customer
    inner join orders on orders.o_custkey = customer.c_custkey
    inner join lineitem on lineitem.l_orderkey = orders.o_orderkey
    -- a local supplier: in the customer's own nation
    inner join supplier
        on supplier.s_suppkey = lineitem.l_suppkey
        and supplier.s_nationkey = customer.c_nationkey
    inner join nation on nation.n_nationkey = supplier.s_nationkey
    inner join region on region.r_regionkey = nation.n_regionkey
    group by nation.n_name

)

select * from final
order by revenue desc, n_name asc
