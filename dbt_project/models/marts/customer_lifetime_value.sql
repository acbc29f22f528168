{#- One row per customer with at least one order: order history, lifetime value and segment. -#}

with

customer as (

    select * from {{ ref('stg_customer') }}

),

nation as (

    select * from {{ ref('stg_nation') }}

),

orders as (

    select * from {{ ref('stg_orders') }}

),

customer_orders as (

    select
        o_custkey,
        min(o_orderdate) as first_order_date,
        max(o_orderdate) as last_order_date,
        count(*) as order_count,
        sum(o_totalprice) as lifetime_value

    from orders
    group by o_custkey

),

final as (

    select
        cast(customer.c_custkey as bigint) as c_custkey,
        cast(customer.c_name as varchar) as c_name,
        cast(nation.n_name as varchar) as nation,
        cast(customer_orders.first_order_date as date) as first_order_date,
        cast(customer_orders.last_order_date as date) as last_order_date,
        cast(customer_orders.order_count as bigint) as order_count,
        cast(customer_orders.lifetime_value as decimal(18, 2)) as lifetime_value,
        cast(
            case
                when customer_orders.lifetime_value >= 2000000 then 'VIP'
                when customer_orders.lifetime_value >= 1000000 then 'Gold'
                when customer_orders.lifetime_value >= 250000 then 'Silver'
                else 'Bronze'
            end as varchar
        ) as segment

    from customer_orders
    inner join customer on customer.c_custkey = customer_orders.o_custkey
    inner join nation on nation.n_nationkey = customer.c_nationkey

)

select * from final
order by c_custkey
