{#-
    TPC-H Q1, the pricing summary report, as specified (DELTA = 90 days), its date in the
    platform's calendar (macros/tpch_calendar.sql).
-#}

with

lineitem as (

    select * from {{ ref('stg_lineitem') }}

),

shipped as (

    select * from lineitem
    where l_shipdate <= {{ tpch_date('1998-12-01') }} - interval '90' day

),

final as (

    select
        l_returnflag,
        l_linestatus,
        cast(sum(l_quantity) as decimal(38, 2)) as sum_qty,
        cast(sum(l_extendedprice) as decimal(38, 2)) as sum_base_price,
        cast(sum(l_extendedprice * (1 - l_discount)) as decimal(38, 4)) as sum_disc_price,
        cast(
            sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as decimal(38, 6)
        ) as sum_charge,
        avg(l_quantity) as avg_qty,
        avg(l_extendedprice) as avg_price,
        avg(l_discount) as avg_disc,
        cast(count(*) as bigint) as count_order

    from shipped
    group by l_returnflag, l_linestatus

)

select * from final
order by l_returnflag, l_linestatus
